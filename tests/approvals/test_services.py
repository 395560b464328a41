"""Every rule of the approvals services, against a small mirror (no Okta calls here)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import (
    AccessRequest,
    CatalogItem,
    Decision,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    RequestApprover,
    RequestEvent,
    RequestStatus,
    RiskLevel,
)
from approvals.services.catalog import catalog_item_publish, catalog_item_save, policy_save
from approvals.services.common import ApprovalError
from approvals.services.decisions import access_request_decide, access_requests_decide_bulk
from approvals.services.grants import (
    access_relinquish,
    grant_revoke_retry,
    grants_remind_expiring,
    grants_revoke_due,
)
from approvals.services.outcomes import access_request_retry, operation_finished
from approvals.services.requests import (
    access_request_cancel,
    access_request_submit,
    access_requests_expire,
)
from audit.models import AuditEvent
from okta.models import (
    AppAssignment,
    GroupMembership,
    GroupType,
    Operation,
    OperationKind,
    OperationStatus,
)
from tests.approvals.conftest import (
    People,
    group_make,
    item_make,
    join,
    mail_notes,
    run_mail_callbacks,
)
from tests.fixtures.mail import MailTasks

pytestmark = pytest.mark.django_db


def submit(people: People, item: CatalogItem, who: str = "maya", **kw: Any) -> AccessRequest:
    kw.setdefault("reason", "on-call rotation")
    kw.setdefault("duration_days", 30)
    return access_request_submit(requester=people.u[who], item=item, **kw)


def decide(people: People, req: AccessRequest, who: str, outcome: str = "APPROVE", **kw: Any):
    return access_request_decide(actor=people.u[who], request_id=req.pk, outcome=outcome, **kw)


def finish(op: Operation, *, ok: bool = True, **fields: Any) -> None:
    """Play the okta worker's part: record an outcome on the row, then run our callback."""
    op.status = OperationStatus.SUCCEEDED if ok else OperationStatus.FAILED
    op.finished_at = timezone.now()
    for key, value in fields.items():
        setattr(op, key, value)
    op.save()
    operation_finished(operation_id=op.pk)


def actions(target_id: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(target_id))
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- submitting --------------------------------------------------------------------------------


def test_submit_routes_to_manager_audits_and_emails_after_commit(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        req = submit(people, backend)
    assert req.status == RequestStatus.PENDING
    assert list(req.approvers.values_list("okta_id", "stage")) == [(people.priya.id, 1)]
    assert "access_request.submitted" in actions(req.pk)
    assert mail.outbox == []  # nothing is sent before commit
    run_mail_callbacks(callbacks)
    assert [m.to for m in mail.outbox] == [["priya.patel@acme.com"]]
    assert f"/requests/{req.pk}/" in mail.outbox[0].body


def test_submit_empty_required_reason_is_refused(people: People, backend: CatalogItem) -> None:
    with pytest.raises(ApprovalError) as exc:
        submit(people, backend, reason="   ")
    assert exc.value.field == "reason"
    assert AccessRequest.objects.count() == 0
    assert not AuditEvent.objects.filter(action="access_request.submitted").exists()


def test_submit_reason_optional_when_item_allows(people: People) -> None:
    item = item_make("Wiki", reason_required=False)
    assert submit(people, item, reason="").status == RequestStatus.PENDING


def test_submit_duration_over_max_is_refused(people: People, backend: CatalogItem) -> None:
    with pytest.raises(ApprovalError, match="longest you can ask for is 90 days"):
        submit(people, backend, duration_days=91)
    assert AccessRequest.objects.count() == 0


def test_submit_permanent_refused_when_item_has_max(people: People, backend: CatalogItem) -> None:
    with pytest.raises(ApprovalError, match="Permanent access is not offered"):
        submit(people, backend, duration_days=None)


def test_submit_permanent_allowed_without_max(people: People) -> None:
    item = item_make("Docs", max_duration_days=None, default_duration_days=None)
    assert submit(people, item, duration_days=None).duration_days is None


def test_submit_duplicate_pending_is_refused_plainly(people: People, backend: CatalogItem) -> None:
    first = submit(people, backend)
    with pytest.raises(ApprovalError, match=f"already an open request #{first.pk}"):
        submit(people, backend)
    assert AccessRequest.objects.count() == 1


def test_submit_access_already_held_is_refused(people: People, backend: CatalogItem) -> None:
    join(people.maya, backend.group)  # type: ignore[arg-type]
    with pytest.raises(ApprovalError, match="You already have Engineering - Backend"):
        submit(people, backend)


def test_submit_app_already_assigned_is_refused(people: People) -> None:
    item = item_make("Salesforce", kind=ItemKind.APP)
    AppAssignment.objects.create(app_id=str(item.app_id), user=people.maya, scope="USER")
    with pytest.raises(ApprovalError, match="already have Salesforce"):
        submit(people, item)


def test_submit_unpublished_item_is_refused(people: People) -> None:
    item = item_make("Secret", published=False)
    with pytest.raises(ApprovalError, match="not in the catalog"):
        submit(people, item)


def test_submit_for_someone_not_a_report_is_refused(people: People, backend: CatalogItem) -> None:
    with pytest.raises(ApprovalError, match="yourself or for your direct reports"):
        submit(people, backend, who="stan", subject_id=people.maya.id)


def test_submit_policy_department_restriction_is_refused(
    people: People, backend: CatalogItem
) -> None:
    backend.policy.requester_departments = ["Finance"]
    backend.policy.save()
    with pytest.raises(ApprovalError, match="does not let people in Engineering"):
        submit(people, backend)


def test_submit_by_manager_for_report_falls_through_to_owners(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend, who="priya", subject_id=people.maya.id)
    # priya is maya's manager but she asked: nobody approves their own request.
    assert list(req.approvers.values_list("okta_id", "tier")) == [(people.otto.id, "OWNERS")]
    assert "next tier" in req.events.get(kind="routed").text


def test_submit_falls_through_to_admins_without_owners(people: People) -> None:
    item = item_make("Finance reports")
    req = submit(people, item, who="priya", subject_id=people.maya.id)
    assert list(req.approvers.values_list("okta_id", "tier")) == [(people.ada.id, "ADMINS")]


def test_auto_approve_low_risk_finishes_at_once_and_says_why(people: People) -> None:
    item = item_make("Snacks", policy="Auto-approve low risk", risk=RiskLevel.LOW)
    req = submit(people, item)
    assert req.status == RequestStatus.APPROVED
    assert "Auto-approved" in req.auto_approved_reason and "low-risk" in req.auto_approved_reason
    op = Operation.objects.get(correlation=f"request:{req.pk}")
    assert op.kind == OperationKind.GROUP_MEMBER_ADD
    assert op.params == {"group_id": item.group_id, "user_id": people.maya.id}
    assert "access_request.approved" in actions(req.pk)


def test_auto_approve_skips_riskier_items(people: People) -> None:
    item = item_make("Prod DB", policy="Auto-approve low risk", risk=RiskLevel.HIGH)
    assert submit(people, item).status == RequestStatus.PENDING


def test_auto_approve_department_rule(people: People) -> None:
    policy = Policy.objects.get(name="Auto-approve low risk")
    policy.auto_approve_departments = ["Sales"]
    policy.save()
    item = item_make("Snacks", policy=policy.name, risk=RiskLevel.LOW)
    assert submit(people, item).status == RequestStatus.PENDING  # maya is in Engineering


# --- deciding ---------------------------------------------------------------------------------


def test_decide_manager_approval_writes_one_operation_and_audit(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    req = submit(people, backend)
    with django_capture_on_commit_callbacks() as callbacks:
        req = decide(people, req, "priya", comment="ok for on-call")
    assert req.status == RequestStatus.APPROVED
    ops = Operation.objects.filter(correlation=f"request:{req.pk}")
    assert [(o.kind, o.callback_task) for o in ops] == [
        ("group.member.add", "approvals.operation_finished")
    ]
    assert Decision.objects.get(request=req).comment == "ok for on-call"
    assert {"access_request.decided", "access_request.approved"} <= set(actions(req.pk))
    run_mail_callbacks(callbacks)
    assert [m.to for m in mail.outbox] == [["maya.chen@acme.com"]]


def test_decide_own_request_is_refused(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    with pytest.raises(ApprovalError, match="their own request"):
        decide(people, req, "maya")
    assert not Decision.objects.exists()


def test_decide_by_someone_not_eligible_is_refused(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    with pytest.raises(ApprovalError, match="not an approver"):
        decide(people, req, "stan")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not Decision.objects.exists()


def test_decide_non_pending_request_changes_nothing(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    decide(people, req, "priya", outcome="DENY")
    before = (Decision.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ApprovalError, match="no longer pending: it is denied"):
        decide(people, req, "priya")
    assert (Decision.objects.count(), AuditEvent.objects.count()) == before


def test_decide_deny_finishes_without_operation(people: People, backend: CatalogItem) -> None:
    req = decide(people, submit(people, backend), "priya", outcome="DENY", comment="not now")
    assert req.status == RequestStatus.DENIED
    assert not Operation.objects.exists()
    assert "access_request.denied" in actions(req.pk)


def test_decide_two_stages_advance_then_approve(
    people: People, django_capture_on_commit_callbacks: Any
) -> None:
    item = item_make("Payroll", policy="Manager then owners", owners=[people.otto.id])
    req = submit(people, item)
    with django_capture_on_commit_callbacks() as callbacks:
        req = decide(people, req, "priya")
    assert (req.status, req.current_stage) == (RequestStatus.PENDING, 2)
    run_mail_callbacks(callbacks)
    assert ["otto.berg@acme.com"] in [m.to for m in mail.outbox]
    with pytest.raises(ApprovalError, match="not an approver"):
        decide(people, req, "priya")  # stage 1 people cannot decide stage 2
    assert decide(people, req, "otto").status == RequestStatus.APPROVED


def test_decide_all_must_approve_waits_for_everyone(people: People, backend: CatalogItem) -> None:
    policy = Policy.objects.create(name="Both approvers")
    policy_save(actor=people.u["ada"], policy=policy, stages=[("APPROVER_GROUP", "ALL")])
    backend.policy = policy
    backend.save()
    req = submit(people, backend)
    assert decide(people, req, "omar").status == RequestStatus.PENDING
    with pytest.raises(ApprovalError, match="already decided"):
        decide(people, req, "omar")
    assert decide(people, req, "olive").status == RequestStatus.APPROVED
    assert Operation.objects.count() == 1


def test_decide_any_one_approver_is_enough(people: People, backend: CatalogItem) -> None:
    backend.policy = Policy.objects.get(name="Approver group")
    backend.save()
    req = submit(people, backend)
    assert decide(people, req, "olive").status == RequestStatus.APPROVED
    with pytest.raises(ApprovalError, match="no longer pending"):
        decide(people, req, "omar")


def test_decide_bulk_reports_each_refusal(people: People, backend: CatalogItem) -> None:
    other = item_make("Engineering - Frontend")
    r1, r2 = submit(people, backend), submit(people, other)
    result = access_requests_decide_bulk(
        actor=people.u["priya"], request_ids=[r1.pk, r2.pk, 999999], outcome="APPROVE"
    )
    assert result.decided == [r1.pk, r2.pk]
    assert result.refused == {999999: "No such request."}


def pending_for_maya(people: People, count: int, policy: str = "Manager approval") -> list[int]:
    """``count`` requests of maya's, each for an item of its own, waiting for priya."""
    first = Decision.objects.count() + AccessRequest.objects.count()
    items = [
        item_make(f"Team {first}-{i}", policy=policy, owners=[people.otto.id]) for i in range(count)
    ]
    return [submit(people, item).pk for item in items]


@pytest.mark.parametrize(
    ("policy", "outcome", "status"),
    [
        ("Manager approval", "APPROVE", RequestStatus.APPROVED),
        ("Manager then owners", "APPROVE", RequestStatus.PENDING),
        ("Manager approval", "DENY", RequestStatus.DENIED),
    ],
)
def test_decide_bulk_costs_the_same_queries_for_3_or_12_requests(
    people: People, policy: str, outcome: str, status: str
) -> None:
    counts = []
    for size in (3, 12):
        ids = pending_for_maya(people, size, policy)
        with CaptureQueriesContext(connection) as captured:
            result = access_requests_decide_bulk(
                actor=people.u["priya"], request_ids=ids, outcome=outcome
            )
        assert (result.decided, result.refused) == (ids, {})
        requests = AccessRequest.objects.filter(pk__in=ids)
        assert {r.status for r in requests} == {status}
        assert Decision.objects.filter(request__in=ids, outcome=outcome).count() == size
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
    if status == RequestStatus.APPROVED:
        assert Operation.objects.count() == 3 + 12
    if policy == "Manager then owners":  # every one moved on to the owner, otto
        assert {r.current_stage for r in requests} == {2}
        waiting = AccessRequest.objects.decidable_by(people.u["otto"]).filter(pk__in=ids)
        assert waiting.count() == 12


def test_decide_bulk_of_mixed_ids_decides_the_valid_and_says_why_for_the_others(
    people: People, backend: CatalogItem
) -> None:
    ok1 = submit(people, backend)
    own = submit(people, item_make("Laptops", owners=[people.otto.id]), who="priya")
    denied = submit(people, item_make("Design"))
    decide(people, denied, "priya", outcome="DENY")
    not_mine = submit(people, item_make("Sales tools", policy="Approver group"))
    ok2 = submit(people, item_make("Engineering - Frontend"))
    before = AuditEvent.objects.count()
    result = access_requests_decide_bulk(
        actor=people.u["priya"],
        request_ids=[ok1.pk, own.pk, 999999, denied.pk, not_mine.pk, ok2.pk, ok1.pk],
        outcome="APPROVE",
        comment="  for the release  ",
    )
    assert result.decided == [ok1.pk, ok2.pk]
    assert result.refused == {
        own.pk: "Nobody can approve or deny their own request.",
        999999: "No such request.",
        denied.pk: f"Request #{denied.pk} is no longer pending: it is denied. Nothing was changed.",
        not_mine.pk: "You are not an approver for this stage of the request.",
    }
    statuses = dict(AccessRequest.objects.values_list("pk", "status"))
    assert statuses == {
        ok1.pk: RequestStatus.APPROVED,
        ok2.pk: RequestStatus.APPROVED,
        own.pk: RequestStatus.PENDING,
        denied.pk: RequestStatus.DENIED,
        not_mine.pk: RequestStatus.PENDING,
    }
    decisions = Decision.objects.filter(decider=people.u["priya"], outcome="APPROVE")
    assert sorted(decisions.values_list("request_id", "comment")) == [
        (ok1.pk, "for the release"),
        (ok2.pk, "for the release"),
    ]
    assert sorted(Operation.objects.values_list("correlation", flat=True)) == sorted(
        [ok1.correlation, ok2.correlation]
    )
    for req in (ok1, ok2):
        assert actions(req.pk)[-2:] == ["access_request.decided", "access_request.approved"]
        assert list(req.events.values_list("kind", flat=True))[-2:] == ["decided", "approved"]
    # Two decisions, two approvals and two queued operations: nothing for the refused ones.
    assert AuditEvent.objects.count() - before == 6


def test_decide_bulk_keeps_each_rule_of_all_must_approve(
    people: People, backend: CatalogItem
) -> None:
    policy = Policy.objects.create(name="Both approvers")
    policy_save(actor=people.u["ada"], policy=policy, stages=[("APPROVER_GROUP", "ALL")])
    backend.policy = policy
    backend.save()
    other = item_make(
        "Engineering - Frontend", policy="Both approvers", approver_group=people.approvers
    )
    ids = [submit(people, backend).pk, submit(people, other).pk]
    bulk = access_requests_decide_bulk
    assert bulk(actor=people.u["omar"], request_ids=ids, outcome="APPROVE").decided == ids
    assert set(AccessRequest.objects.values_list("status", flat=True)) == {RequestStatus.PENDING}
    again = bulk(actor=people.u["omar"], request_ids=ids, outcome="APPROVE")
    assert again.refused == dict.fromkeys(ids, "You have already decided this stage.")
    assert bulk(actor=people.u["olive"], request_ids=ids, outcome="APPROVE").decided == ids
    assert set(AccessRequest.objects.values_list("status", flat=True)) == {RequestStatus.APPROVED}
    assert Operation.objects.count() == 2 and Decision.objects.count() == 4


def test_decide_bulk_stage_falls_through_to_admins_when_no_owner_is_left(people: People) -> None:
    with_owner = item_make("Payroll", policy="Manager then owners", owners=[people.otto.id])
    ownerless = item_make("Ledger", policy="Manager then owners", owners=[])
    ids = [submit(people, with_owner).pk, submit(people, ownerless).pk]
    result = access_requests_decide_bulk(
        actor=people.u["priya"], request_ids=ids, outcome="APPROVE"
    )
    assert result.decided == ids
    approvers = {
        pk: list(RequestApprover.objects.filter(request=pk, stage=2).values_list("okta_id", "tier"))
        for pk in ids
    }
    assert approvers == {
        ids[0]: [(people.otto.id, "OWNERS")],
        ids[1]: [(people.ada.id, "ADMINS")],
    }
    routed = RequestEvent.objects.filter(request=ids[1], kind="routed").last()
    assert routed is not None and "nobody eligible among the item's owners" in routed.text


def test_decide_bulk_keeps_the_audit_chain_verifiable(people: People) -> None:
    ids = pending_for_maya(people, 5)
    access_requests_decide_bulk(actor=people.u["priya"], request_ids=ids[:3], outcome="APPROVE")
    access_requests_decide_bulk(actor=people.u["priya"], request_ids=ids[3:], outcome="DENY")
    for pk in ids[:3]:
        assert actions(pk) == [
            "access_request.submitted",
            "access_request.decided",
            "access_request.approved",
        ]
    for pk in ids[3:]:
        assert actions(pk) == [
            "access_request.submitted",
            "access_request.decided",
            "access_request.denied",
        ]
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert f"intact: {AuditEvent.objects.count()} events verified" in out.getvalue()


def test_decide_bulk_sends_one_email_task_after_commit_for_the_batch(
    people: People, django_capture_on_commit_callbacks: Any, mail_tasks: MailTasks
) -> None:
    ids = pending_for_maya(people, 4)
    with django_capture_on_commit_callbacks(execute=True):
        access_requests_decide_bulk(
            actor=people.u["priya"], request_ids=ids, outcome="DENY", comment="budget"
        )
        assert mail_tasks.queued == 0  # nothing before commit
    assert mail_tasks.queued == 1
    assert mail_tasks.notes == [["requester", pk, "decided"] for pk in ids]
    mail_tasks.run()
    assert len(mail.outbox) == 4
    assert {tuple(m.to) for m in mail.outbox} == {("maya.chen@acme.com",)}
    assert all("budget" in m.body for m in mail.outbox)


def test_decide_rolled_back_sends_no_email_task(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    req = submit(people, backend)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            decide(people, req, "priya")
            raise RuntimeError("the caller's transaction fails after the decision")
    assert mail_notes(callbacks) == []
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not Decision.objects.exists()


def test_cancel_by_requester_and_refusals(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    with pytest.raises(Http404):
        access_request_cancel(actor=people.u["stan"], request_id=req.pk)
    req = access_request_cancel(actor=people.u["maya"], request_id=req.pk)
    assert req.status == RequestStatus.CANCELLED
    assert "access_request.cancelled" in actions(req.pk)
    with pytest.raises(ApprovalError, match="can no longer be cancelled"):
        access_request_cancel(actor=people.u["maya"], request_id=req.pk)


def test_expire_pending_after_configured_days(
    people: People, backend: CatalogItem, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.APPROVALS_PENDING_EXPIRY_DAYS = 5
    old = submit(people, backend)
    fresh = submit(people, item_make("Other"))
    AccessRequest.objects.filter(pk=old.pk).update(
        pending_until=timezone.now() - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert access_requests_expire() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (RequestStatus.EXPIRED, RequestStatus.PENDING)
    assert "access_request.expired" in actions(old.pk)
    run_mail_callbacks(callbacks)
    assert "expired" in mail.outbox[-1].body
    assert access_requests_expire() == 0  # running twice is harmless


# --- fulfilment ---------------------------------------------------------------------------------


def approved(people: People, item: CatalogItem, **kw: Any) -> tuple[AccessRequest, Operation]:
    req = decide(people, submit(people, item, **kw), "priya")
    return req, Operation.objects.get(correlation=req.correlation)


def test_operation_success_completes_and_creates_grant(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    req, op = approved(people, backend, duration_days=7)
    with django_capture_on_commit_callbacks() as callbacks:
        finish(op, okta_status=204, okta_request_id="req-123")
    req.refresh_from_db()
    assert req.status == RequestStatus.COMPLETED
    grant = Grant.objects.get(request=req)
    assert grant.expires_at is not None
    assert timedelta(days=6, hours=23) < grant.expires_at - timezone.now() <= timedelta(days=7)
    assert "access_request.completed" in actions(req.pk)
    assert "req-123" in req.events.get(kind="okta_done").text
    run_mail_callbacks(callbacks)
    assert "Okta has the change" in mail.outbox[-1].body
    operation_finished(operation_id=op.pk)  # a second callback changes nothing
    assert Grant.objects.count() == 1


def test_operation_failure_shows_okta_message_and_retry(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    req, op = approved(people, backend)
    with django_capture_on_commit_callbacks() as callbacks:
        finish(
            op,
            ok=False,
            okta_status=403,
            error_code="E0000006",
            error_summary="You do not have permission to perform the requested action",
            okta_request_id="req-9",
        )
    req.refresh_from_db()
    assert req.status == RequestStatus.FAILED
    assert "You do not have permission" in req.failure_message and "E0000006" in req.failure_message
    run_mail_callbacks(callbacks)
    recipients = sorted(r for m in mail.outbox for r in m.to)
    assert "ada.admin@acme.com" in recipients and "maya.chen@acme.com" in recipients
    with pytest.raises(Http404):
        access_request_retry(actor=people.u["maya"], request_id=req.pk)
    req = access_request_retry(actor=people.u["ada"], request_id=req.pk)
    op.refresh_from_db()
    assert (req.status, op.status) == (RequestStatus.FULFILLING, OperationStatus.PENDING)
    finish(op)
    req.refresh_from_db()
    assert req.status == RequestStatus.COMPLETED


# --- grants -------------------------------------------------------------------------------------


def completed(people: People, item: CatalogItem, **kw: Any) -> Grant:
    req, op = approved(people, item, **kw)
    finish(op)
    GroupMembership.objects.get_or_create(group_id=item.group_id, user_id=people.maya.id)
    return Grant.objects.get(request=req)


def test_due_grant_is_revoked_through_an_operation(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    grant = completed(people, backend, duration_days=7)
    assert grants_revoke_due() == 0
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert grants_revoke_due() == 1
    assert grants_revoke_due() == 0  # already claimed
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKING
    op = Operation.objects.get(correlation=f"grant:{grant.pk}")
    assert (op.kind, op.params["user_id"]) == ("group.member.remove", people.maya.id)
    with django_capture_on_commit_callbacks() as callbacks:
        finish(op)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert AuditEvent.objects.filter(action="grant.revoked", target_id=str(grant.pk)).exists()
    run_mail_callbacks(callbacks)
    assert "has ended" in mail.outbox[-1].subject


def test_reminder_sent_once_before_expiry(
    people: People, backend: CatalogItem, django_capture_on_commit_callbacks: Any
) -> None:
    grant = completed(people, backend, duration_days=30)
    assert grants_remind_expiring() == 0
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timedelta(days=1))
    with django_capture_on_commit_callbacks() as callbacks:
        assert grants_remind_expiring() == 1
    assert grants_remind_expiring() == 0
    run_mail_callbacks(callbacks)
    assert "ends soon" in mail.outbox[-1].subject
    assert f"/grants/{grant.pk}/extend/" in mail.outbox[-1].body


def test_extend_request_supersedes_old_grant(people: People, backend: CatalogItem) -> None:
    grant = completed(people, backend, duration_days=7)
    with pytest.raises(ApprovalError, match="already have"):
        submit(people, backend)
    req = submit(people, backend, extends_grant=grant, duration_days=30)
    decide(people, req, "priya")
    finish(Operation.objects.get(correlation=req.correlation))
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUPERSEDED
    assert Grant.objects.get(request=req).status == GrantStatus.ACTIVE


def test_relinquish_grant_and_plain_membership(people: People, backend: CatalogItem) -> None:
    grant = completed(people, backend)
    access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id=str(backend.group_id))
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKING
    other = group_make("Book club")
    join(people.maya, other)
    access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id=other.id)
    op = Operation.objects.get(correlation=f"relinquish:{people.maya.id}:{other.id}")
    assert op.kind == "group.member.remove"
    with pytest.raises(ApprovalError, match="already removing"):
        access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id=other.id)
    with pytest.raises(Http404):
        access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id="00gnothere")


def test_relinquish_app_group_is_refused(people: People) -> None:
    locked = group_make("Salesforce users", type=GroupType.APP_GROUP)
    join(people.maya, locked)
    with pytest.raises(ApprovalError, match="APP_GROUP"):
        access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id=locked.id)


# --- catalog and policies ------------------------------------------------------------------------


def test_catalog_refuses_app_group_and_builtin(people: People) -> None:
    for kind in (GroupType.APP_GROUP, GroupType.BUILT_IN):
        group = group_make(f"Locked {kind}", type=kind)
        item = CatalogItem(kind=ItemKind.GROUP, group=group, policy=Policy.objects.first())
        with pytest.raises(ApprovalError, match=kind):
            catalog_item_save(actor=people.u["ada"], item=item)
    assert not CatalogItem.objects.exists()


def test_catalog_save_needs_admin_and_audits(people: People) -> None:
    group = group_make("Design")
    item = CatalogItem(
        kind=ItemKind.GROUP,
        group=group,
        policy=Policy.objects.get(name="Manager approval"),
        max_duration_days=None,
    )
    with pytest.raises(ApprovalError, match="Only catalog admins"):
        catalog_item_save(actor=people.u["maya"], item=item)
    item = catalog_item_save(actor=people.u["ada"], item=item)
    assert item.name == "Design"
    catalog_item_publish(actor=people.u["ada"], item_id=item.pk, published=True)
    assert actions(item.pk) == ["catalog.item.created", "catalog.item.published"]


def test_catalog_save_refuses_approver_group_policy_without_a_group(people: People) -> None:
    item = CatalogItem(
        kind=ItemKind.GROUP,
        group=group_make("Ops"),
        policy=Policy.objects.get(name="Approver group"),
    )
    with pytest.raises(ApprovalError, match="has none: give an approver group") as exc:
        catalog_item_save(actor=people.u["ada"], item=item)
    assert exc.value.field == "approver_group"
    assert not CatalogItem.objects.exists() and not AuditEvent.objects.exists()


def test_catalog_publish_refuses_item_without_the_approver_group_its_policy_needs(
    people: People,
) -> None:
    # Saved before the rule existed (or straight into the database): publishing still refuses.
    item = item_make("Ops", policy="Approver group", published=False)
    with pytest.raises(ApprovalError, match="Approver group") as exc:
        catalog_item_publish(actor=people.u["ada"], item_id=item.pk, published=True)
    assert exc.value.field == "approver_group"
    item.refresh_from_db()
    assert not item.published and actions(item.pk) == []
    item.approver_group = people.approvers
    item.save()
    catalog_item_publish(actor=people.u["ada"], item_id=item.pk, published=True)
    assert actions(item.pk) == ["catalog.item.published"]


def test_policy_save_refuses_an_approver_group_stage_its_items_cannot_use(
    people: People,
) -> None:
    policy = Policy.objects.get(name="Manager approval")
    item_make("Ops", policy=policy.name)
    with pytest.raises(ApprovalError, match=r"no approver group \(Ops\)"):
        policy_save(
            actor=people.u["ada"],
            policy=policy,
            stages=[("MANAGER", "ANY"), ("APPROVER_GROUP", "ANY")],
        )
    assert policy.stage_snapshot() == [{"approvers": "MANAGER", "rule": "ANY"}]
    assert actions(policy.pk) == []


def test_catalog_default_over_max_is_refused(people: People) -> None:
    item = CatalogItem(
        kind=ItemKind.GROUP,
        group=group_make("Ops"),
        policy=Policy.objects.first(),
        default_duration_days=60,
        max_duration_days=30,
    )
    with pytest.raises(ApprovalError, match="default duration cannot be longer"):
        catalog_item_save(actor=people.u["ada"], item=item)


def test_policy_stage_count_is_one_to_three(people: People) -> None:
    with pytest.raises(ApprovalError, match="one to three"):
        policy_save(
            actor=people.u["ada"], policy=Policy(name="Too long"), stages=[("MANAGER", "ANY")] * 4
        )
    with pytest.raises(ApprovalError, match="Only admins"):
        policy_save(actor=people.u["maya"], policy=Policy(name="Mine"), stages=[("MANAGER", "ANY")])


def test_default_policies_exist() -> None:
    names = set(Policy.objects.values_list("name", flat=True))
    assert {"Manager approval", "Manager then owners", "Auto-approve low risk"} <= names


def test_failed_revocation_is_shown_and_retried_by_admin(
    people: People, backend: CatalogItem
) -> None:
    grant = completed(people, backend, duration_days=7)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    grants_revoke_due()
    op = Operation.objects.get(correlation=grant.correlation)
    finish(op, ok=False, okta_status=403, error_code="E0000006", error_summary="Forbidden")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKE_FAILED and "Forbidden" in grant.failure_message
    with pytest.raises(Http404):
        grant_revoke_retry(actor=people.u["maya"], grant_id=grant.pk)
    grant_revoke_retry(actor=people.u["ada"], grant_id=grant.pk)
    op.refresh_from_db()
    grant.refresh_from_db()
    assert (grant.status, op.status) == (GrantStatus.REVOKING, OperationStatus.PENDING)
    finish(op)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED


def test_decide_with_an_unusable_okta_id_is_refused_and_changes_nothing(people: People) -> None:
    group = group_make("Odd")
    OktaGroupModel = type(group)
    OktaGroupModel.objects.filter(pk=group.pk).update(id="00g-not-an-id")
    item = item_make("Odd item", group=OktaGroupModel.objects.get(pk="00g-not-an-id"))
    req = submit(people, item)
    with pytest.raises(ApprovalError, match="cannot send this change to Okta"):
        decide(people, req, "priya")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert not Decision.objects.exists() and not Operation.objects.exists()
