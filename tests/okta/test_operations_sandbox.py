"""Operations run against the Okta sandbox over real HTTP: outcomes, idempotency, faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from okta import operations
from okta.client import OktaClient
from okta.models import (
    AppAssignment,
    GroupMembership,
    GroupType,
    OktaGroup,
    OktaUser,
    Operation,
    OperationKind,
    OperationStatus,
)
from okta.operations import operation_execute, operation_reveal_secret
from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from tests.fixtures.dispatch import SentTask, tasks_hold

pytestmark = pytest.mark.django_db

MAYA = acme_user_id("maya.chen@acme.com")
JOHN = acme_user_id("john.doe@acme.com")
FINANCE = acme_group_id("Finance")
ENGINEERING = acme_group_id("Engineering")


@pytest.fixture
def mirror(okta: OktaClient) -> None:
    """Maya, John, Finance and Engineering in the local mirror, as sync would leave them."""
    for login in ("maya.chen@acme.com", "john.doe@acme.com"):
        user = okta.get_user(login)
        OktaUser.objects.create(id=user.id, login=user.login, email=user.email, status=user.status)
    for gid in (FINANCE, ENGINEERING):
        group = okta.get_group(gid)
        OktaGroup.objects.create(id=group.id, name=group.name, type=GroupType.OKTA_GROUP)
    GroupMembership.objects.create(group_id=ENGINEERING, user_id=MAYA)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Messages that would have gone to the broker after commit."""
    box: dict[str, list[Any]] = {"queue": [], "callbacks": []}

    def held(message: SentTask) -> None:
        if message.name == operations.OPERATION_RUN_TASK:
            box["queue"].append((message.args[0], message.options.get("countdown")))
        else:
            box["callbacks"].append((message.name, *message.args))

    tasks_hold(monkeypatch, each=held)
    return box


def op_make(kind: str, **params: Any) -> Operation:
    return Operation.objects.create(
        kind=kind,
        params=operations.operation_validate(kind, params),
        actor="admin@acme.com",
        correlation="request:1",
        callback_task="approvals.operation_finished",
    )


Run = Callable[[Operation], Operation]


@pytest.fixture
def run(okta: OktaClient, sent: Any, django_capture_on_commit_callbacks: Any) -> Run:
    """Execute an operation as the worker would (its after-commit messages land in ``sent``);
    returns it as recorded."""

    def execute(op: Operation) -> Operation:
        with django_capture_on_commit_callbacks(execute=True):
            result = operation_execute(op.pk, client=okta)
        assert result is not None
        op.refresh_from_db()
        return op

    return execute


def group_names(okta: OktaClient, user_id: str) -> set[str]:
    return {g.name for g in okta.list_user_groups(user_id)}


def test_group_member_add_changes_okta_mirror_and_audit(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA))
    assert op.status == OperationStatus.SUCCEEDED
    assert op.okta_status == 204 and op.okta_request_id
    assert op.attempts == 1 and op.finished_at is not None
    assert "Finance" in group_names(okta, MAYA)
    assert GroupMembership.objects.filter(group_id=FINANCE, user_id=MAYA).exists()
    event = AuditEvent.objects.get(action="okta.operation.succeeded")
    assert event.actor == "okta" and event.target_id == FINANCE
    assert event.detail["user_id"] == MAYA and event.detail["attempt"] == 1
    assert sent["callbacks"] == [("approvals.operation_finished", op.pk)]


def test_group_member_add_executed_twice_makes_one_change(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA)
    run(op)
    assert operation_execute(op.pk, client=okta) is None  # already final: not claimed
    duplicate = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA))
    assert duplicate.status == OperationStatus.SUCCEEDED
    adds = [
        e
        for e in okta.iter_logs(filter='eventType eq "group.user_membership.add"')
        if {t["id"] for t in e.targets} == {MAYA, FINANCE}
    ]
    assert len(adds) == 1


def test_group_member_add_already_member_succeeds(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id=ENGINEERING, user_id=MAYA))
    assert op.status == OperationStatus.SUCCEEDED
    assert GroupMembership.objects.filter(group_id=ENGINEERING, user_id=MAYA).count() == 1


def test_group_member_remove_then_remove_again(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    first = run(op_make(OperationKind.GROUP_MEMBER_REMOVE, group_id=ENGINEERING, user_id=MAYA))
    second = run(op_make(OperationKind.GROUP_MEMBER_REMOVE, group_id=ENGINEERING, user_id=MAYA))
    assert first.status == second.status == OperationStatus.SUCCEEDED
    assert "Engineering" not in group_names(okta, MAYA)
    assert not GroupMembership.objects.filter(group_id=ENGINEERING, user_id=MAYA).exists()


def test_app_assign_and_unassign_are_idempotent(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    app = acme_app_id("Salesforce")
    for _ in range(2):
        op = run(op_make(OperationKind.APP_USER_ASSIGN, app_id=app, user_id=JOHN))
        assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    assert okta.get_app_user(app, JOHN) is not None
    assert AppAssignment.objects.get(app_id=app, user_id=JOHN).scope == "USER"
    for _ in range(2):
        op = run(op_make(OperationKind.APP_USER_UNASSIGN, app_id=app, user_id=JOHN))
        assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    assert okta.get_app_user(app, JOHN) is None
    assert not AppAssignment.objects.filter(app_id=app, user_id=JOHN).exists()


def test_user_suspend_twice_is_one_change_and_unsuspend_restores(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    for _ in range(2):  # Okta itself refuses to suspend a SUSPENDED user (E0000001)
        op = run(op_make(OperationKind.USER_SUSPEND, user_id=JOHN))
        assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    assert okta.get_user(JOHN).status == "SUSPENDED"
    assert OktaUser.objects.get(pk=JOHN).status == "SUSPENDED"
    op = run(op_make(OperationKind.USER_UNSUSPEND, user_id=JOHN))
    assert op.status == OperationStatus.SUCCEEDED
    assert okta.get_user(JOHN).status == "ACTIVE"
    assert OktaUser.objects.get(pk=JOHN).status == "ACTIVE"


def test_user_suspend_through_gatehouse_ends_the_persons_sessions(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    john = User.objects.create(username="john.doe@acme.com", okta_id=JOHN)
    epoch = john.session_epoch
    op = run(op_make(OperationKind.USER_SUSPEND, user_id=JOHN))
    assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    john.refresh_from_db()
    assert not john.is_active and john.session_epoch == epoch + 1
    assert AuditEvent.objects.get(action="account.sessions_ended", target_id=JOHN).detail == {
        "status": "SUSPENDED",
        "source": "Gatehouse operation",
    }


def test_permanent_4xx_fails_at_once_with_oktas_message(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id="00gDoesNotExist0001", user_id=MAYA))
    assert op.status == OperationStatus.FAILED
    assert (op.okta_status, op.error_code) == (404, "E0000007")
    assert "Not found" in op.error_summary
    assert op.okta_request_id and op.attempts == 1
    assert sent["queue"] == []  # no retry
    assert sent["callbacks"] == [("approvals.operation_finished", op.pk)]
    event = AuditEvent.objects.get(action="okta.operation.failed")
    assert event.outcome == "failure" and event.detail["error_code"] == "E0000007"


def test_change_on_built_in_group_is_refused(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    everyone = next(g for g in okta.iter_groups(q="Everyone") if g.type == "BUILT_IN")
    op = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id=everyone.id, user_id=MAYA))
    assert op.status == OperationStatus.FAILED and op.error_code == "E0000006"


def test_transient_fault_goes_back_to_pending_then_succeeds(
    okta: OktaClient,
    okta_sandbox: Any,
    mirror: None,
    sent: Any,
    run: Run,
) -> None:
    op = op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA)
    okta_sandbox.set_faults(
        [{"error_rate": 1.0, "error_status": 503, "path_prefix": "/api/v1/groups"}]
    )
    op = run(op)
    assert op.status == OperationStatus.PENDING
    assert op.okta_status == 503 and op.attempts == 1
    assert op.next_attempt_at is not None and op.next_attempt_at > timezone.now()
    assert len(sent["queue"]) == 1 and sent["queue"][0][0] == op.pk
    assert sent["queue"][0][1] > 0  # re-queued with a countdown
    assert sent["callbacks"] == []  # not final yet
    assert AuditEvent.objects.filter(action="okta.operation.attempted").count() == 1

    okta_sandbox.clear_faults()
    Operation.objects.filter(pk=op.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    op = run(op)
    assert op.status == OperationStatus.SUCCEEDED and op.attempts == 2
    assert "Finance" in group_names(okta, MAYA)
    assert sent["callbacks"] == [("approvals.operation_finished", op.pk)]


def test_rate_limited_operation_waits_for_the_reset(
    okta: OktaClient,
    okta_sandbox: Any,
    mirror: None,
    sent: Any,
    run: Run,
) -> None:
    okta_sandbox.set_faults([{"rate_429": 1.0, "path_prefix": "/api/v1/groups"}])
    op = run(op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA))
    assert op.status == OperationStatus.PENDING
    assert (op.okta_status, op.error_code) == (429, "E0000047")
    assert op.next_attempt_at is not None
    wait = (op.next_attempt_at - timezone.now()).total_seconds()
    assert 0 < wait <= 63.1  # until X-Rate-Limit-Reset (at most 61 s away) + 1 s + jitter


def test_transient_failures_stop_at_max_attempts(
    okta: OktaClient,
    okta_sandbox: Any,
    mirror: None,
    sent: Any,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(operations, "MAX_ATTEMPTS", 2)
    okta_sandbox.set_faults([{"drop_rate": 1.0, "path_prefix": "/api/v1/groups"}])
    op = op_make(OperationKind.GROUP_MEMBER_ADD, group_id=FINANCE, user_id=MAYA)
    op = run(op)
    assert op.status == OperationStatus.PENDING and op.okta_status is None
    Operation.objects.filter(pk=op.pk).update(next_attempt_at=None)
    op = run(op)
    assert op.status == OperationStatus.FAILED and op.attempts == 2
    assert "Could not talk to Okta" in op.error_summary


def test_reset_password_url_is_sealed_and_shown_once(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.USER_RESET_PASSWORD, user_id=JOHN, send_email=False))
    assert op.status == OperationStatus.SUCCEEDED
    assert "http" not in str(op.result)  # encrypted at rest
    secret = operation_reveal_secret(operation_id=op.pk, actor="jordan.lee@acme.com")
    assert secret["reset_password_url"].startswith("http")
    assert operation_reveal_secret(operation_id=op.pk, actor="jordan.lee@acme.com") == {}
    for event in AuditEvent.objects.all():
        assert secret["reset_password_url"] not in str(event.detail)


def test_expire_password_with_temp_password(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.USER_EXPIRE_PASSWORD, user_id=JOHN, temp_password=True))
    assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    temp = operation_reveal_secret(operation_id=op.pk, actor="jordan.lee@acme.com")
    assert temp["temp_password"]
    assert okta.get_user(JOHN).status == "PASSWORD_EXPIRED"


def test_user_create_twice_creates_one_user(okta: OktaClient, sent: Any, run: Run) -> None:
    profile = {
        "login": "new.hire@acme.com",
        "email": "new.hire@acme.com",
        "firstName": "New",
        "lastName": "Hire",
    }
    first = run(op_make(OperationKind.USER_CREATE, profile=profile, activate=False))
    second = run(op_make(OperationKind.USER_CREATE, profile=profile, activate=False))
    assert first.status == second.status == OperationStatus.SUCCEEDED, first.error_summary
    assert first.result["user_id"] == second.result["user_id"]
    assert OktaUser.objects.get(pk=first.result["user_id"]).login == "new.hire@acme.com"
    assert [u.id for u in okta.iter_users(search='profile.login eq "new.hire@acme.com"')] == [
        first.result["user_id"]
    ]


def test_user_create_mirrors_the_groups_okta_has_the_user_in(
    okta: OktaClient, okta_sandbox: Any, mirror: None, sent: Any, run: Run
) -> None:
    profile = {
        "login": "new.hire@acme.com",
        "email": "new.hire@acme.com",
        "firstName": "New",
        "lastName": "Hire",
    }
    first = run(op_make(OperationKind.USER_CREATE, profile=profile, group_ids=[FINANCE]))
    assert first.status == OperationStatus.SUCCEEDED, first.error_summary
    user_id = first.result["user_id"]
    assert OktaUser.objects.get(pk=user_id).status == "PROVISIONED"  # as Okta answered
    # Everyone is not in this test's mirror: only the groups the mirror holds.
    assert group_names(okta, user_id) == {"Everyone", "Finance"}
    members = GroupMembership.objects.filter(user_id=user_id)
    assert set(members.values_list("group_id", flat=True)) == {FINANCE}

    # A repeat (its first answer lost): the user exists; the mirror follows Okta's groups.
    assert okta_sandbox.api("PUT", f"/api/v1/groups/{ENGINEERING}/users/{user_id}").status == 204
    assert okta_sandbox.api("DELETE", f"/api/v1/groups/{FINANCE}/users/{user_id}").status == 204
    second = run(op_make(OperationKind.USER_CREATE, profile=profile, group_ids=[FINANCE]))
    assert second.status == OperationStatus.SUCCEEDED and second.result["user_id"] == user_id
    assert set(members.values_list("group_id", flat=True)) == {ENGINEERING}


def test_group_create_update_delete(okta: OktaClient, sent: Any, run: Run) -> None:
    created = run(op_make(OperationKind.GROUP_CREATE, name="Data Science", description="DS"))
    assert created.status == OperationStatus.SUCCEEDED, created.error_summary
    gid = created.result["group_id"]
    again = run(op_make(OperationKind.GROUP_CREATE, name="Data Science"))
    assert again.result["group_id"] == gid
    updated = run(
        op_make(OperationKind.GROUP_UPDATE, group_id=gid, name="Data Science", description="ML")
    )
    assert updated.status == OperationStatus.SUCCEEDED
    assert okta.get_group(gid).description == "ML"
    assert OktaGroup.objects.get(pk=gid).description == "ML"
    for _ in range(2):
        deleted = run(op_make(OperationKind.GROUP_DELETE, group_id=gid))
        assert deleted.status == OperationStatus.SUCCEEDED
    assert not OktaGroup.objects.filter(pk=gid).exists()


def test_user_delete_requires_deactivation_first(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    refused = run(op_make(OperationKind.USER_DELETE, user_id=JOHN))
    assert refused.status == OperationStatus.FAILED
    assert "Deactivate the user" in refused.error_summary
    assert okta.get_user(JOHN).status == "ACTIVE"
    deactivated = run(op_make(OperationKind.USER_DEACTIVATE, user_id=JOHN))
    assert deactivated.status == OperationStatus.SUCCEEDED
    deleted = run(op_make(OperationKind.USER_DELETE, user_id=JOHN))
    assert deleted.status == OperationStatus.SUCCEEDED
    assert okta.find_user(JOHN) is None
    assert not OktaUser.objects.filter(pk=JOHN).exists()


def test_unlock_not_locked_user_counts_as_done(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    op = run(op_make(OperationKind.USER_UNLOCK, user_id=MAYA))
    assert op.status == OperationStatus.SUCCEEDED
    event = AuditEvent.objects.get(action="okta.operation.succeeded")
    assert event.detail["note"] == "not locked"


def test_clear_sessions_and_reset_factors(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    for kind in (OperationKind.USER_CLEAR_SESSIONS, OperationKind.USER_RESET_FACTORS):
        op = run(op_make(kind, user_id=MAYA))
        assert op.status == OperationStatus.SUCCEEDED, op.error_summary


def test_unlock_locked_user(
    okta: OktaClient,
    okta_sandbox: Any,
    mirror: None,
    sent: Any,
    run: Run,
) -> None:
    okta_sandbox.lock_user("maya.chen@acme.com")
    OktaUser.objects.filter(pk=MAYA).update(status="LOCKED_OUT")
    op = run(op_make(OperationKind.USER_UNLOCK, user_id=MAYA))
    assert op.status == OperationStatus.SUCCEEDED, op.error_summary
    assert okta.get_user(MAYA).status == "ACTIVE"
    assert OktaUser.objects.get(pk=MAYA).status == "ACTIVE"
    assert "note" not in AuditEvent.objects.get(action="okta.operation.succeeded").detail


def test_user_suspend_twice_keeps_okta_s_already_suspended_note_on_the_result(
    okta: OktaClient, mirror: None, sent: Any, run: Run
) -> None:
    first = run(op_make(OperationKind.USER_SUSPEND, user_id=JOHN))
    second = run(op_make(OperationKind.USER_SUSPEND, user_id=JOHN))
    assert first.status == second.status == OperationStatus.SUCCEEDED
    assert "note" not in first.result
    assert second.result["note"] == "already suspended"  # the pages say nothing had to change
