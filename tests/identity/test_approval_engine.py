"""Identity actions that need approval go through the approvals engine: the same inbox and nav
count, the same decide service and its rules, the same timeline, emails and expiry, and the
same outbox — tried here end to end against the Okta sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import AccessRequest, Decision, Policy, RequestEvent, RequestStatus
from approvals.services.common import ApprovalError
from approvals.services.requests import access_request_submit, access_requests_expire
from audit.models import AuditEvent
from identity import services
from identity.models import Action, ActionPolicy, ActionRequest
from okta.models import OktaApp, OktaUser, Operation, OperationStatus
from tests.approvals.conftest import ensure_default_policies as approvals_policies
from tests.approvals.conftest import item_make
from tests.fixtures.mail import MailTasks
from tests.identity.conftest import (
    HTMX,
    Acme,
    Run,
    approval_of,
    client_for,
    decide,
    new_person,
)

pytestmark = pytest.mark.django_db


def chain(action: str, policy: str) -> None:
    ActionPolicy.objects.filter(action=action).update(
        approval_policy=Policy.objects.get(name=policy)
    )


def maya_unlock_asked_by(acme: Acme, name: str) -> ActionRequest:
    """Maya is locked out (in Okta and in the mirror, as the event hook would leave it) and
    ``name`` asks to unlock her under "Manager approval"."""
    chain(Action.ACCOUNT_UNLOCK, "Manager approval")
    acme.sandbox.lock_user(acme.id["maya"])
    OktaUser.objects.filter(pk=acme.id["maya"]).update(status="LOCKED_OUT")
    return services.action_submit(
        actor=acme.u[name],
        action=Action.ACCOUNT_UNLOCK,
        variant="unlock",
        target_user_id=acme.id["maya"],
    )


def john_suspend_asked(acme: Acme) -> ActionRequest:
    """Sam asks to suspend John; the default policy wants a second admin."""
    return services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_SUSPEND,
        variant="suspend",
        target_user_id=acme.id["john"],
    )


def test_manager_approves_an_action_in_the_inbox_and_the_outbox_carries_it_out(
    acme: Acme,
    run_ops: Run,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    mail_tasks: MailTasks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        req = maya_unlock_asked_by(acme, "jordan")
    writes = acme.sandbox.counters()["writes"]
    approval = approval_of(req)
    assert approval.kind == services.APPROVAL_KIND and approval.item_id is None
    assert approval.status == RequestStatus.PENDING
    assert list(approval.approvers.values_list("okta_id", "tier")) == [
        (acme.id["priya"], "MANAGER")
    ]
    assert not Operation.objects.filter(correlation=req.correlation).exists()
    mail_tasks.run()
    (mail,) = mailoutbox
    assert mail.to == ["priya.patel@acme.com"] and "Unlock Maya Chen" in mail.subject

    # in priya's inbox and nav count, and nobody else's
    priya = client_for(acme.u["priya"])
    page = priya.get(reverse("approvals:inbox")).content.decode()
    assert f'id="inbox-row-{approval.pk}"' in page
    assert 'data-testid="inbox-count">1<' in page and "Identity action" in page
    assert f"inbox-row-{approval.pk}" not in (
        client_for(acme.u["dana"]).get(reverse("approvals:inbox")).content.decode()
    )

    # approved there (HTMX), through approvals' decide service
    with django_capture_on_commit_callbacks(execute=True):
        response = priya.post(
            reverse("approvals:request_decide", args=[approval.pk]),
            {"outcome": "APPROVE", "comment": "she called me"},
            headers=HTMX,
        )
    assert response.status_code == 200 and "decision recorded" in response.content.decode()
    (op,) = Operation.objects.filter(correlation=f"request:{approval.pk}")
    assert op.kind == "user.unlock" and op.callback_task == "approvals.operation_finished"
    assert acme.state("maya")["status"] == "LOCKED_OUT"  # nothing in Okta before the worker

    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    assert acme.state("maya")["status"] == "ACTIVE"
    assert acme.sandbox.counters()["writes"] == writes + 1
    approval.refresh_from_db()
    assert approval.status == RequestStatus.COMPLETED
    req = ActionRequest.objects.get(pk=req.pk)
    assert services.action_outcome(req, [op]) == "Done"

    # the timeline and the audit trail show each step
    assert list(RequestEvent.objects.filter(request=approval).values_list("kind", flat=True)) == [
        "submitted",
        "routed",
        "decided",
        "approved",
        "okta_done",
    ]
    detail = priya.get(approval.get_absolute_url()).content.decode()
    assert "she called me" in detail and "Okta made the change" in detail
    assert reverse("identity:action_detail", args=[req.pk]) in detail
    audited = list(
        AuditEvent.objects.filter(
            action__in=[
                "identity.action.requested",
                "access_request.submitted",
                "access_request.decided",
                "identity.action.approved",
                "access_request.approved",
                "okta.operation.succeeded",
                "access_request.completed",
            ]
        )
        .order_by("id")
        .values_list("action", "actor")
    )
    assert audited == [
        ("access_request.submitted", "jordan.lee@acme.com"),
        ("identity.action.requested", "jordan.lee@acme.com"),
        ("access_request.decided", "priya.patel@acme.com"),
        ("identity.action.approved", "priya.patel@acme.com"),
        ("access_request.approved", "priya.patel@acme.com"),
        ("okta.operation.succeeded", "okta"),
        ("access_request.completed", "okta"),
    ]


def test_requester_cannot_approve_their_own_action(acme: Acme) -> None:
    req = john_suspend_asked(acme)
    approval = approval_of(req)
    assert acme.id["sam"] not in approval.approvers.values_list("okta_id", flat=True)
    response = client_for(acme.u["sam"]).post(
        reverse("approvals:request_decide", args=[approval.pk]), {"outcome": "APPROVE"}, follow=True
    )
    assert "Nobody can approve or deny their own request." in response.content.decode()
    assert not Decision.objects.exists()
    assert approval_of(req).status == RequestStatus.PENDING
    assert not Operation.objects.filter(correlation=req.correlation).exists()
    assert acme.state("john")["status"] == "ACTIVE"


def test_manager_asking_for_their_report_falls_through_to_an_admin(acme: Acme) -> None:
    """Under "Manager approval", a manager's own ask cannot be approved by themselves: the
    stage falls to the next tier (no owners for an action, so the admins)."""
    req = maya_unlock_asked_by(acme, "priya")
    approval = approval_of(req)
    assert set(approval.approvers.values_list("okta_id", "tier")) == {
        (acme.id["sam"], "ADMINS"),
        (acme.id["dana"], "ADMINS"),
    }
    with pytest.raises(ApprovalError, match="own request"):
        decide(acme.u["priya"], req)
    assert "went to the next tier" in approval.events.get(kind="routed").text


def test_deny_shows_the_comment(
    acme: Acme,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    mail_tasks: MailTasks,
) -> None:
    req = john_suspend_asked(acme)
    approval = approval_of(req)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(acme.u["dana"]).post(
            reverse("approvals:request_decide", args=[approval.pk]),
            {"outcome": "DENY", "comment": "not during the quarter close"},
        )
    assert approval_of(req).status == RequestStatus.DENIED
    sam = client_for(acme.u["sam"])
    detail = sam.get(approval.get_absolute_url()).content.decode()
    assert "Denied stage 1: “not during the quarter close”" in detail
    action_page = sam.get(reverse("identity:action_detail", args=[req.pk])).content.decode()
    assert 'data-testid="action-outcome">Denied<' in action_page
    mail_tasks.run()
    assert "not during the quarter close" in mailoutbox[-1].body
    assert mailoutbox[-1].to == ["sam.rivera@acme.com"]
    assert not Operation.objects.filter(correlation=req.correlation).exists()
    assert acme.state("john")["status"] == "ACTIVE"


def test_undecided_action_expires_like_any_request(acme: Acme) -> None:
    req = john_suspend_asked(acme)
    assert access_requests_expire(now=timezone.now() + timedelta(days=30)) == 1
    req.refresh_from_db()
    assert services.action_outcome(req, []) == "Expired"
    assert not Operation.objects.filter(correlation=req.correlation).exists()


def test_the_person_an_action_is_about_cannot_cancel_it(acme: Acme) -> None:
    req = john_suspend_asked(acme)
    john = client_for(acme.u["john"])
    response = john.post(
        reverse("approvals:request_cancel", args=[req.approval_request_id]), follow=True
    )
    assert "Only the person who asked can cancel" in response.content.decode()
    assert approval_of(req).status == RequestStatus.PENDING


def test_approved_user_creation_assigns_its_apps_after_the_user_exists(
    acme: Acme, run_ops: Run
) -> None:
    chain(Action.USER_CREATE, "Second admin")
    app = OktaApp.objects.order_by("label").first()
    assert app is not None
    req = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_CREATE,
        variant="create",
        params=new_person("casey.new@acme.com", app_ids=[app.pk]),
    )
    approval = approval_of(req)
    assert (
        approval.subject_id is None
        and approval.title == "Create user Casey New (casey.new@acme.com)"
    )
    decide(acme.u["dana"], req)
    ops = run_ops(req.correlation)
    assert [(o.kind, o.status) for o in ops] == [
        ("user.create", OperationStatus.SUCCEEDED),
        ("app.user.assign", OperationStatus.SUCCEEDED),
    ]
    assert app.label in acme.state("casey.new@acme.com")["apps"]
    assert approval_of(req).status == RequestStatus.COMPLETED
    req.refresh_from_db()
    assert req.target_user_id == ops[0].result["user_id"]


def test_inbox_query_count_is_constant_with_action_rows_mixed_in(acme: Acme) -> None:
    approvals_policies()
    # Five different asks about maya: the same one twice would be refused while it waits.
    asks = [
        (Action.MFA_RESET, "reset"),
        (Action.SESSIONS_CLEAR, "clear"),
        (Action.PASSWORD_RESET, "email"),
        (Action.PASSWORD_RESET, "url"),
        (Action.PASSWORD_RESET, "temp"),
    ]
    for action in {action for action, _ in asks}:
        chain(action, "Manager approval")
    priya = client_for(acme.u["priya"])

    def ask(n: int) -> None:
        for i in range(n):
            action, variant = asks.pop(0)
            services.action_submit(
                actor=acme.u["jordan"],
                action=action,
                variant=variant,
                target_user_id=acme.id["maya"],
            )
            access_request_submit(
                requester=acme.u["maya"],
                item=item_make(f"Mixed {AccessRequest.objects.count()} {i}"),
                reason="on-call",
                duration_days=30,
            )

    def count() -> int:
        priya.get(reverse("approvals:inbox"))  # sessions, roles cache
        with CaptureQueriesContext(connection) as ctx:
            page = priya.get(reverse("approvals:inbox"))
        assert page.status_code == 200
        return len(ctx.captured_queries)

    ask(1)
    few = count()
    ask(4)
    assert AccessRequest.objects.decidable_by(acme.u["priya"]).filter(kind="").count() == 5
    assert AccessRequest.objects.decidable_by(acme.u["priya"]).exclude(kind="").count() == 5
    assert count() == few
