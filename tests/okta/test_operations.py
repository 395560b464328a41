"""The operation outbox without Okta: validation, queueing on commit, claims, reaper, retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from okta import crypto, operations
from okta.models import Operation, OperationKind, OperationStatus
from okta.operations import (
    OPERATION_RUN_TASK,
    OperationInvalid,
    operation_enqueue,
    operation_retry,
    operation_reveal_secret,
    operation_validate,
    operations_enqueue,
    operations_reap,
)
from tests.fixtures.dispatch import tasks_hold

pytestmark = pytest.mark.django_db

ADD = OperationKind.GROUP_MEMBER_ADD
PARAMS = {"group_id": "00gEngineering0001", "user_id": "00uMaya00000000001"}


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float | None]]:
    """What would have gone to the broker: (operation id, countdown)."""
    sent: list[tuple[int, float | None]] = []
    tasks_hold(
        monkeypatch,
        OPERATION_RUN_TASK,
        each=lambda message: sent.append((message.args[0], message.options.get("countdown"))),
    )
    return sent


def test_operation_validate_accepts_known_kinds() -> None:
    assert operation_validate(ADD, PARAMS) == PARAMS
    assert operation_validate(
        OperationKind.USER_RESET_PASSWORD, {"user_id": "00u1", "send_email": False}
    ) == {"user_id": "00u1", "send_email": False}


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("user.explode", {"user_id": "00u1"}, "Unknown operation kind"),
        (ADD, {"group_id": "00g1"}, "needs 'user_id'"),
        (ADD, {**PARAMS, "extra": 1}, "Unexpected params"),
        (ADD, {**PARAMS, "user_id": "../../etc"}, "not an Okta id"),
        (ADD, {**PARAMS, "user_id": 7}, "wrong type"),
        (OperationKind.USER_SUSPEND, {"user_id": "00u1", "send_email": True}, "Unexpected"),
        (OperationKind.USER_RESET_PASSWORD, {"user_id": "00u1", "send_email": "no"}, "wrong type"),
        (OperationKind.USER_CREATE, {"profile": {"login": "a@b.c"}}, "needs 'email'"),
        (OperationKind.GROUP_CREATE, {"name": "  "}, "empty"),
    ],
)
def test_operation_validate_refuses_bad_input(kind: str, params: Any, message: str) -> None:
    with pytest.raises(OperationInvalid, match=message):
        operation_validate(kind, params)


def test_operation_enqueue_writes_row_and_audit_and_queues_on_commit(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    tasks_hold(monkeypatch, OPERATION_RUN_TASK, each=lambda message: sent.append(*message.args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        op = operation_enqueue(
            kind=ADD,
            params=PARAMS,
            actor="admin@acme.test",
            correlation="request:42",
            callback_task="approvals.operation_finished",
        )
    assert sent == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [op.pk]
    op.refresh_from_db()
    assert (op.status, op.attempts, op.actor, op.correlation) == (
        OperationStatus.PENDING,
        0,
        "admin@acme.test",
        "request:42",
    )
    event = AuditEvent.objects.get(action="okta.operation.queued")
    assert event.target_type == "group" and event.target_id == PARAMS["group_id"]
    assert event.detail["operation_id"] == op.pk
    assert event.detail["user_id"] == PARAMS["user_id"]


def test_operation_enqueue_rolls_back_with_the_caller(queued: list[Any]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        operation_enqueue(kind=ADD, params=PARAMS, actor="admin")
        raise RuntimeError("the caller's transaction fails")
    assert not Operation.objects.exists()
    assert not AuditEvent.objects.filter(action="okta.operation.queued").exists()
    assert queued == []


def test_operation_enqueue_invalid_writes_nothing(queued: list[Any]) -> None:
    with pytest.raises(OperationInvalid):
        operation_enqueue(kind=ADD, params={"group_id": "00g1"}, actor="admin")
    assert not Operation.objects.exists() and queued == []


def test_operations_enqueue_bulk(
    django_capture_on_commit_callbacks: Any, queued: list[Any]
) -> None:
    items = [
        {
            "kind": ADD,
            "params": {**PARAMS, "user_id": f"00uBulk{i:011d}"},
            "correlation": f"bulk:7:item:{i}",
        }
        for i in range(5)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        ops = operations_enqueue(items=items, actor="admin")
    assert Operation.objects.count() == 5
    assert sorted(pk for pk, _ in queued) == sorted(op.pk for op in ops)
    assert AuditEvent.objects.filter(action="okta.operation.queued").count() == 5


def test_operations_enqueue_one_bad_item_refuses_batch(queued: list[Any]) -> None:
    items = [{"kind": ADD, "params": PARAMS}, {"kind": ADD, "params": {"group_id": "x"}}]
    with pytest.raises(OperationInvalid):
        operations_enqueue(items=items, actor="admin")
    assert not Operation.objects.exists()


def test_claim_race_one_wins() -> None:
    op = Operation.objects.create(kind=ADD, params=PARAMS)
    first = operations._claim(op.pk)
    second = operations._claim(op.pk)
    assert first is not None and second is None
    op.refresh_from_db()
    assert op.status == OperationStatus.RUNNING and op.claim_token == first and op.attempts == 1


def test_claim_skips_pending_not_yet_due_and_final_rows() -> None:
    later = Operation.objects.create(
        kind=ADD, params=PARAMS, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    done = Operation.objects.create(kind=ADD, params=PARAMS, status=OperationStatus.SUCCEEDED)
    assert operations._claim(later.pk) is None
    assert operations._claim(done.pk) is None


def test_claim_takes_over_stale_running_row() -> None:
    stale = Operation.objects.create(
        kind=ADD,
        params=PARAMS,
        status=OperationStatus.RUNNING,
        claim_token="dead-worker",
        claimed_at=timezone.now() - operations.RUNNING_DEADLINE - timedelta(seconds=1),
    )
    fresh = Operation.objects.create(
        kind=ADD, params=PARAMS, status=OperationStatus.RUNNING, claimed_at=timezone.now()
    )
    assert operations._claim(stale.pk) not in (None, "dead-worker")
    assert operations._claim(fresh.pk) is None


def test_record_from_a_stale_claim_is_dropped() -> None:
    op = Operation.objects.create(kind=ADD, params=PARAMS)
    token = operations._claim(op.pk)
    assert token
    Operation.objects.filter(pk=op.pk).update(claim_token="someone-else")
    op.refresh_from_db()
    assert operations._record(op, token, operations.Outcome({}), None) is None
    op.refresh_from_db()
    assert op.status == OperationStatus.RUNNING


def test_operations_reap_requeues_lost_and_stale_rows(queued: list[Any]) -> None:
    now = timezone.now()
    lost = Operation.objects.create(kind=ADD, params=PARAMS)
    Operation.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=10))
    overdue = Operation.objects.create(
        kind=ADD, params=PARAMS, next_attempt_at=now - timedelta(minutes=10)
    )
    dead = Operation.objects.create(
        kind=ADD,
        params=PARAMS,
        status=OperationStatus.RUNNING,
        claimed_at=now - timedelta(hours=1),
    )
    # Not stale: just queued, waiting for a backoff, running right now, finished.
    Operation.objects.create(kind=ADD, params=PARAMS)
    Operation.objects.create(kind=ADD, params=PARAMS, next_attempt_at=now + timedelta(minutes=1))
    Operation.objects.create(
        kind=ADD, params=PARAMS, status=OperationStatus.RUNNING, claimed_at=now
    )
    Operation.objects.create(kind=ADD, params=PARAMS, status=OperationStatus.FAILED)

    assert operations_reap() == 3
    assert sorted(pk for pk, _ in queued) == sorted([lost.pk, overdue.pk, dead.pk])
    assert operations_reap() == 1  # the lost messages were re-sent: only the dead worker's row
    lost.refresh_from_db()
    assert lost.next_attempt_at is not None and lost.status == OperationStatus.PENDING


def test_operations_reap_leaves_a_backlog_the_workers_are_still_draining(
    queued: list[Any],
) -> None:
    now = timezone.now()
    old = now - timedelta(minutes=10)

    def row(queued_at: Any, **fields: Any) -> Operation:
        op = Operation.objects.create(kind=ADD, params=PARAMS, **fields)
        Operation.objects.filter(pk=op.pk).update(created_at=queued_at)
        return op

    # The workers have just taken a message queued before the backlog: they are not past it.
    row(old - timedelta(seconds=1), status=OperationStatus.SUCCEEDED, attempts=1, claimed_at=now)
    # A retry due after the backlog ran on its countdown, outside the queue's order.
    row(
        old,
        status=OperationStatus.RUNNING,
        attempts=2,
        claimed_at=now,
        next_attempt_at=now - timedelta(minutes=1),
    )
    backlog = [row(old) for _ in range(3)]

    assert operations_reap() == 0
    assert queued == []

    # Now they claimed a message queued after the backlog: the backlog's messages were lost.
    row(old + timedelta(seconds=1), status=OperationStatus.SUCCEEDED, attempts=1, claimed_at=now)
    assert operations_reap() == 3
    assert sorted(pk for pk, _ in queued) == [op.pk for op in backlog]


@pytest.fixture
def admin() -> User:
    """An admin's account (a superuser: has_perm answers yes to everything)."""
    return User.objects.create_user("admin@acme.test", is_superuser=True)


def test_operation_retry_failed_goes_back_to_pending(
    django_capture_on_commit_callbacks: Any, queued: list[Any], admin: User
) -> None:
    op = Operation.objects.create(
        kind=ADD,
        params=PARAMS,
        status=OperationStatus.FAILED,
        attempts=8,
        error_summary="Okta was down",
        finished_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert operation_retry(operation_id=op.pk, actor=admin) is True
    op.refresh_from_db()
    assert (op.status, op.attempts, op.finished_at) == (OperationStatus.PENDING, 0, None)
    assert queued == [(op.pk, None)]
    event = AuditEvent.objects.get(action="okta.operation.retried")
    assert event.actor == "admin@acme.test"
    assert event.detail["previous_error"] == "Okta was down"


def test_operation_retry_refuses_non_failed(queued: list[Any], admin: User) -> None:
    op = Operation.objects.create(kind=ADD, params=PARAMS, status=OperationStatus.SUCCEEDED)
    assert operation_retry(operation_id=op.pk, actor=admin) is False
    assert queued == [] and not AuditEvent.objects.filter(action="okta.operation.retried").exists()


def test_operation_reveal_secret_once() -> None:
    op = Operation.objects.create(
        kind=OperationKind.USER_RESET_PASSWORD,
        params={"user_id": "00u1", "send_email": False},
        status=OperationStatus.SUCCEEDED,
        result=operations._seal({"reset_password_url": "https://acme.test/reset/xyz"}),
    )
    assert "xyz" not in str(op.result)  # encrypted at rest
    assert operation_reveal_secret(operation_id=op.pk, actor="helpdesk") == {
        "reset_password_url": "https://acme.test/reset/xyz"
    }
    assert operation_reveal_secret(operation_id=op.pk, actor="helpdesk") == {}
    op.refresh_from_db()
    assert op.result == {"secret_revealed": True}
    event = AuditEvent.objects.get(action="okta.operation.secret_revealed")
    assert "xyz" not in str(event.detail)
    assert crypto  # the module that sealed it


def test_operation_execute_refuses_inside_a_transaction() -> None:
    op = Operation.objects.create(kind=ADD, params=PARAMS)
    with pytest.raises(RuntimeError, match="inside a transaction"), transaction.atomic():
        operations.operation_execute(op.pk)


def test_record_keeps_oktas_yes_when_the_mirror_update_fails() -> None:
    from django.db import DatabaseError

    op = Operation.objects.create(kind=ADD, params=PARAMS, actor="admin@acme.test")
    token = operations._claim(op.pk)
    assert token
    op.refresh_from_db()

    def broken_mirror() -> None:
        raise DatabaseError("mirror table is unhappy")

    recorded = operations._record(
        op, token, operations.Outcome({}, mirror=broken_mirror, okta_status=204), None
    )
    assert recorded is not None
    op.refresh_from_db()
    assert op.status == OperationStatus.SUCCEEDED and op.okta_status == 204
    event = AuditEvent.objects.get(action="okta.operation.succeeded")
    assert event.detail["requested_by"] == "admin@acme.test"
