"""The Okta actions Gatehouse takes, as an outbox of ``Operation`` rows.

1. ``operation_enqueue`` (inside the caller's transaction) validates the action, writes the row
   and its audit event, and sends ``okta.operation_run`` (by name) after commit.
2. ``operation_execute`` claims the row with a conditional UPDATE, calls Okta outside any
   transaction, then records Okta's answer, the audit event and the mirror change in one
   transaction, and sends the caller's callback task after commit.
3. Transient failures go back to PENDING with a due time; ``operations_reap`` re-queues rows a
   lost message or a killed worker left behind; admins re-run failures with ``operation_retry``.

Every action is idempotent: state is checked first where Okta would refuse a repeat, so running
an operation twice makes one change. okta knows nothing of access requests: callers follow
their operations through ``correlation`` and ``callback_task``.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.services import audit_record
from core.dispatch import task_send
from okta import crypto
from okta.actors import RETRY_OPERATION, actor_require
from okta.client import OktaClient, OktaError
from okta.models import (
    AppAssignment,
    GroupMembership,
    OktaGroup,
    OktaUser,
    Operation,
    OperationKind,
    OperationStatus,
    UserStatus,
)
from okta.signals import statuses_changed_send

log = logging.getLogger(__name__)

MAX_ATTEMPTS: int = getattr(settings, "OKTA_OPERATION_MAX_ATTEMPTS", 8)
RUNNING_DEADLINE = timedelta(seconds=getattr(settings, "OKTA_OPERATION_RUNNING_DEADLINE", 300))
LOST_MESSAGE_GRACE = timedelta(seconds=getattr(settings, "OKTA_OPERATION_LOST_GRACE", 120))
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0
# Keys of ``Operation.result`` that are one-time secrets for one viewer: stored encrypted,
# handed out once by ``operation_reveal_secret``, never audited or logged.
SECRET_KEYS = frozenset({"reset_password_url", "temp_password", "activation_url"})


class OperationInvalid(ValueError):
    """The operation's kind or params are not acceptable; nothing was written."""


# --- Validation --------------------------------------------------------------------------------

_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_str = (str,)


@dataclass(frozen=True)
class _Spec:
    required: Mapping[str, type | tuple[type, ...]]
    optional: Mapping[str, type | tuple[type, ...]]
    target: str  # which param names the thing changed, for audit and the queue page


_USER = {"user_id": _str}
SPECS: dict[str, _Spec] = {
    OperationKind.GROUP_MEMBER_ADD: _Spec({"group_id": _str, "user_id": _str}, {}, "group_id"),
    OperationKind.GROUP_MEMBER_REMOVE: _Spec({"group_id": _str, "user_id": _str}, {}, "group_id"),
    OperationKind.APP_USER_ASSIGN: _Spec({"app_id": _str, "user_id": _str}, {}, "app_id"),
    OperationKind.APP_USER_UNASSIGN: _Spec({"app_id": _str, "user_id": _str}, {}, "app_id"),
    OperationKind.USER_CREATE: _Spec(
        {"profile": dict},
        {"activate": bool, "next_login_change_password": bool, "group_ids": list},
        "",
    ),
    OperationKind.USER_UPDATE: _Spec({"user_id": _str, "profile": dict}, {}, "user_id"),
    OperationKind.USER_ACTIVATE: _Spec(_USER, {"send_email": bool}, "user_id"),
    OperationKind.USER_REACTIVATE: _Spec(_USER, {"send_email": bool}, "user_id"),
    OperationKind.USER_DEACTIVATE: _Spec(_USER, {"send_email": bool}, "user_id"),
    OperationKind.USER_SUSPEND: _Spec(_USER, {}, "user_id"),
    OperationKind.USER_UNSUSPEND: _Spec(_USER, {}, "user_id"),
    OperationKind.USER_UNLOCK: _Spec(_USER, {}, "user_id"),
    OperationKind.USER_DELETE: _Spec(_USER, {"send_email": bool}, "user_id"),
    OperationKind.USER_RESET_PASSWORD: _Spec(_USER, {"send_email": bool}, "user_id"),
    OperationKind.USER_EXPIRE_PASSWORD: _Spec(
        _USER, {"temp_password": bool, "revoke_sessions": bool}, "user_id"
    ),
    OperationKind.USER_RESET_FACTORS: _Spec(_USER, {}, "user_id"),
    OperationKind.USER_CLEAR_SESSIONS: _Spec(_USER, {"oauth_tokens": bool}, "user_id"),
    OperationKind.GROUP_CREATE: _Spec({"name": _str}, {"description": _str}, ""),
    OperationKind.GROUP_UPDATE: _Spec(
        {"group_id": _str, "name": _str}, {"description": _str}, "group_id"
    ),
    OperationKind.GROUP_DELETE: _Spec({"group_id": _str}, {}, "group_id"),
}


def operation_validate(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A clean copy of ``params`` for ``kind``, or OperationInvalid with a readable reason."""
    spec = SPECS.get(kind)
    if spec is None:
        raise OperationInvalid(f"Unknown operation kind {kind!r}.")
    if not isinstance(params, Mapping):
        raise OperationInvalid("Operation params must be an object.")
    unknown = set(params) - set(spec.required) - set(spec.optional)
    if unknown:
        raise OperationInvalid(f"Unexpected params for {kind}: {', '.join(sorted(unknown))}.")
    clean: dict[str, Any] = {}
    for name, types in [*spec.required.items(), *spec.optional.items()]:
        if name not in params:
            if name in spec.required:
                raise OperationInvalid(f"{kind} needs {name!r}.")
            continue
        value = params[name]
        if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
            raise OperationInvalid(f"{kind}: {name!r} has the wrong type.")
        if name.endswith("_id") and not _ID.match(str(value)):
            raise OperationInvalid(f"{kind}: {name!r} is not an Okta id.")
        if isinstance(value, str) and name not in ("description",) and not value.strip():
            raise OperationInvalid(f"{kind}: {name!r} is empty.")
        clean[name] = value
    if kind == OperationKind.USER_CREATE:
        profile = clean["profile"]
        for field in ("login", "email", "firstName", "lastName"):
            if not isinstance(profile.get(field), str) or not profile[field].strip():
                raise OperationInvalid(f"user.create: the profile needs {field!r}.")
        ids = clean.get("group_ids", [])
        if not all(isinstance(g, str) and _ID.match(g) for g in ids):
            raise OperationInvalid("user.create: group_ids must be Okta group ids.")
    if kind == OperationKind.USER_UPDATE:
        profile = clean["profile"]
        if not profile or not all(isinstance(k, str) for k in profile):
            raise OperationInvalid("user.update: the profile has no attributes to change.")
    return clean


# --- Enqueue -----------------------------------------------------------------------------------


def _actor_text(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return str(getattr(actor, "username", "") or getattr(actor, "email", "") or actor)


def _target(op: Operation) -> tuple[str, str]:
    name = SPECS[op.kind].target
    if name:
        return name.removesuffix("_id"), str(op.params.get(name, ""))
    if op.kind == OperationKind.USER_CREATE:
        return "user", str(op.params.get("profile", {}).get("login", ""))
    return "group", str(op.params.get("name", ""))


def _audit_detail(op: Operation, **extra: Any) -> dict[str, Any]:
    """What the audit trail keeps: never the params' free text beyond ids, never secrets."""
    detail: dict[str, Any] = {"operation_id": op.pk, "kind": op.kind}
    for key in ("group_id", "user_id", "app_id", "name"):
        if key in op.params:
            detail[key] = op.params[key]
    if op.kind in (OperationKind.USER_CREATE, OperationKind.USER_UPDATE):
        detail["profile_fields"] = sorted(op.params.get("profile", {}))
    if op.correlation:
        detail["correlation"] = op.correlation
    detail.update({k: v for k, v in extra.items() if k not in SECRET_KEYS})
    return detail


OPERATION_RUN_TASK = "okta.operation_run"


def _queue(operation_id: int, countdown: float | None = None) -> None:
    task_send(OPERATION_RUN_TASK, operation_id, countdown=countdown or None)


def operation_enqueue(
    *,
    kind: str,
    params: Mapping[str, Any],
    actor: Any,
    correlation: str = "",
    callback_task: str = "",
) -> Operation:
    """Write one operation and its audit event in the caller's transaction; queue it on commit.

    ``correlation`` (e.g. ``"request:42"``) lets the caller find its operations;
    ``callback_task`` is a Celery task name sent with the operation id once it is final.
    """
    clean = operation_validate(kind, params)
    with transaction.atomic():
        op = Operation.objects.create(
            kind=kind,
            params=clean,
            actor=_actor_text(actor),
            correlation=correlation,
            callback_task=callback_task,
        )
        kind_, target_id = _target(op)
        audit_record(
            action="okta.operation.queued",
            actor=actor,
            target_type=kind_,
            target_id=target_id,
            outcome="success",
            detail=_audit_detail(op),
        )
        transaction.on_commit(lambda: _queue(op.pk))
    return op


def operations_enqueue(
    *,
    items: Sequence[Mapping[str, Any]],
    actor: Any,
    callback_task: str = "",
) -> list[Operation]:
    """Many operations in one go (bulk pages): one bulk insert, audit events, queued on commit.

    Each item holds ``kind``, ``params`` and optionally ``correlation``. All are validated
    before anything is written: one bad item refuses the batch.
    """
    from audit.services import audit_record_many

    rows = [
        Operation(
            kind=item["kind"],
            params=operation_validate(item["kind"], item.get("params", {})),
            actor=_actor_text(actor),
            correlation=str(item.get("correlation", "")),
            callback_task=callback_task,
        )
        for item in items
    ]
    if not rows:
        return []
    with transaction.atomic():
        created = Operation.objects.bulk_create(rows)
        if any(op.pk is None for op in created):  # backends without RETURNING
            raise RuntimeError("bulk_create did not return primary keys")
        audit_record_many(
            events=[
                {
                    "action": "okta.operation.queued",
                    "actor": actor,
                    "target_type": _target(op)[0],
                    "target_id": _target(op)[1],
                    "detail": _audit_detail(op),
                }
                for op in created
            ]
        )
        ids = [op.pk for op in created]

        def queue_all() -> None:
            for pk in ids:
                _queue(pk)

        transaction.on_commit(queue_all)
    return created


# --- Execute -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an action did: ``result`` is stored (secrets encrypted), ``mirror`` updates the
    local directory in the recording transaction, ``note`` says e.g. "already a member"."""

    result: dict[str, Any]
    note: str = ""
    mirror: Callable[[], None] | None = None
    # Okta's answer to the write: the last call made, unless the action read something after
    # its write (then it sets these from ``_answer`` taken right after the write).
    okta_status: int | None = None
    request_id: str = ""


def _answer(client: OktaClient) -> dict[str, Any]:
    """The status and request id of the call just made, for ``Outcome`` (the request id is
    how Okta's System Log names the write)."""
    return {"okta_status": client.last_status, "request_id": client.last_request_id}


def _claim(operation_id: int) -> str | None:
    """PENDING (due) or stale RUNNING → RUNNING with a fresh claim token; None if lost."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimable = Q(status=OperationStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=OperationStatus.RUNNING, claimed_at__lt=now - RUNNING_DEADLINE)
    won = (
        Operation.objects.filter(claimable, pk=operation_id).update(
            status=OperationStatus.RUNNING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
        == 1
    )
    return token if won else None


def _default_client() -> OktaClient:
    from okta.connection import shared_client

    client = shared_client()
    # The outbox retries across attempts; inside one attempt keep a worker busy briefly.
    client.max_retries = 2
    client.max_retry_seconds = 30.0
    client.last_status, client.last_request_id = None, ""
    return client


def _inside_transaction() -> bool:
    connection = transaction.get_connection()
    # Django's TestCase wraps each test in atomic blocks it marks: those are not the caller's.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def operation_execute(operation_id: int, *, client: OktaClient | None = None) -> Operation | None:
    """Run one operation if it can be claimed; returns the row as recorded (None: not claimed).

    Call it from a task, never inside a transaction: Okta is called between two transactions.
    """
    if _inside_transaction():
        raise RuntimeError("operation_execute must not run inside a transaction")
    token = _claim(operation_id)
    if token is None:
        return None
    op = Operation.objects.get(pk=operation_id)
    if op.attempts > MAX_ATTEMPTS:  # claimed again and again: workers keep dying on it
        return _record(op, token, None, OktaError("Gave up: no worker could finish this."))
    error: OktaError | None = None
    outcome: Outcome | None = None
    try:
        if client is None:
            client = _default_client()  # the worker's shared client: not closed here
        outcome = ACTIONS[op.kind](client, op.params)
    except OktaError as exc:
        error = exc
    except Exception as exc:  # a bug must not leave the row RUNNING until the reaper
        log.exception("operation %s crashed", op.pk)
        error = OktaError(f"Gatehouse failed to run this operation: {type(exc).__name__}")
    if outcome is not None and client is not None and outcome.okta_status is None:
        outcome.okta_status = client.last_status
        outcome.request_id = client.last_request_id
    return _record(op, token, outcome, error)


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after + random.uniform(0, 1)
    base = min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
    return random.uniform(base / 2, base)


def _record(
    op: Operation, token: str, outcome: Outcome | None, error: OktaError | None
) -> Operation | None:
    now = timezone.now()
    attempts = op.attempts
    fields: dict[str, Any] = {"claim_token": ""}
    retry_in: float | None = None
    if error is None and outcome is not None:
        fields.update(
            status=OperationStatus.SUCCEEDED,
            finished_at=now,
            okta_status=outcome.okta_status,
            okta_request_id=outcome.request_id[:100],
            error_code="",
            error_summary="",
            # The note ("already suspended") is kept with the result: pages tell the person
            # that nothing needed to change.
            result=_seal({**outcome.result, **({"note": outcome.note} if outcome.note else {})}),
        )
        action, audit_outcome = "okta.operation.succeeded", "success"
    else:
        assert error is not None
        fields.update(
            okta_status=error.status,
            error_code=error.error_code[:20],
            error_summary=error.message,
            okta_request_id=error.request_id[:100],
        )
        if error.retryable and attempts < MAX_ATTEMPTS:
            retry_in = _backoff(attempts, error.retry_after)
            fields.update(
                status=OperationStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=retry_in),
            )
            action, audit_outcome = "okta.operation.attempted", "failure"
        else:
            fields.update(status=OperationStatus.FAILED, finished_at=now)
            action, audit_outcome = "okta.operation.failed", "failure"
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=op.pk, status=OperationStatus.RUNNING, claim_token=token
        ).update(**fields)
        if not updated:
            log.warning("operation %s was reclaimed while running; outcome dropped", op.pk)
            return None
        for name, value in fields.items():
            setattr(op, name, value)
        if outcome is not None and error is None and outcome.mirror is not None:
            try:
                with transaction.atomic():
                    outcome.mirror()
            except DatabaseError:  # Okta said yes: record that; the next sync fixes the mirror
                log.exception("operation %s: mirror update failed", op.pk)
        target_type, target_id = _target(op)
        extra: dict[str, Any] = {"attempt": attempts, "requested_by": op.actor}
        if error is not None:
            extra.update(
                okta_status=error.status,
                error_code=error.error_code,
                error_summary=error.message,
                okta_request_id=error.request_id,
            )
            if retry_in is not None:
                extra["retry_in_seconds"] = round(retry_in, 1)
        elif outcome is not None:
            extra.update({k: v for k, v in outcome.result.items() if k not in SECRET_KEYS})
            if outcome.note:
                extra["note"] = outcome.note
        audit_record(
            action=action,
            actor="okta",
            target_type=target_type,
            target_id=target_id,
            outcome=audit_outcome,
            detail=_audit_detail(op, **extra),
        )
        if retry_in is not None:
            transaction.on_commit(lambda: _queue(op.pk, countdown=retry_in))
        elif op.callback_task:
            task_name = op.callback_task
            transaction.on_commit(lambda: task_send(task_name, op.pk))
    return op


def _seal(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (crypto.encrypt(str(v)) if k in SECRET_KEYS else v) for k, v in result.items()}


def operation_reveal_secret(*, operation_id: int, actor: Any) -> dict[str, str]:
    """Hand out an operation's one-time secrets (reset URL, temporary password) once.

    The caller authorizes ``actor`` (only the person who asked may see it). The secrets are
    removed from the row in the same transaction; a second call gets an empty dict.
    """
    with transaction.atomic():
        op = Operation.objects.select_for_update().filter(pk=operation_id).first()
        if op is None:
            return {}
        secrets = {k: crypto.decrypt(v) for k, v in op.result.items() if k in SECRET_KEYS}
        if not secrets:
            return {}
        op.result = {k: v for k, v in op.result.items() if k not in SECRET_KEYS}
        op.result["secret_revealed"] = True
        op.save(update_fields=["result"])
        target_type, target_id = _target(op)
        audit_record(
            action="okta.operation.secret_revealed",
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            detail=_audit_detail(op, secrets=sorted(secrets)),
        )
    return secrets


# --- Retry and reap ----------------------------------------------------------------------------


def operation_retry(*, operation_id: int, actor: Any) -> bool:
    """Admins: send a FAILED operation to Okta again. False when it was not FAILED;
    PermissionDenied unless ``actor`` may retry operations."""
    actor_require(actor, RETRY_OPERATION)
    with transaction.atomic():
        updated = Operation.objects.filter(pk=operation_id, status=OperationStatus.FAILED).update(
            status=OperationStatus.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),  # queued now: what the reaper measures from
            finished_at=None,
            claimed_at=None,
        )
        if not updated:
            return False
        op = Operation.objects.get(pk=operation_id)
        target_type, target_id = _target(op)
        audit_record(
            action="okta.operation.retried",
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            detail=_audit_detail(op, previous_error=op.error_summary),
        )
        transaction.on_commit(lambda: _queue(operation_id))
    return True


def operations_reap() -> int:
    """Re-queue operations a lost message or a dead worker left behind; returns how many.

    A PENDING row's message went to the broker when it became due (``next_attempt_at``, or
    ``created_at`` for a first attempt). It counts as lost only when it has been due for longer
    than the grace period *and* the workers are past it: they claimed, within the grace period,
    a message that was queued later (the queue is first in, first out). A long backlog that
    the workers are still draining is therefore left alone; when they claimed nothing at all
    for the grace period (idle, or the broker lost everything), every row due for longer than
    the grace period is re-sent. RUNNING rows claimed longer than the deadline ago lost their
    worker (the claim in ``operation_execute`` accepts them again). Queuing twice is harmless:
    only one claim wins.
    """
    now = timezone.now()
    cutoff = now - LOST_MESSAGE_GRACE
    due_at = Coalesce("next_attempt_at", "created_at")
    overdue = Operation.objects.alias(due_at=due_at).filter(
        status=OperationStatus.PENDING, due_at__lte=cutoff
    )
    passed = (
        Operation.objects
        # First attempts only: a retry's message waits in a worker for its countdown (an ETA),
        # outside the queue's order.
        .filter(claimed_at__gte=cutoff, attempts=1)
        .exclude(status=OperationStatus.PENDING)
        .aggregate(latest=Max(due_at))["latest"]
    )
    if passed is not None:
        overdue = overdue.filter(due_at__lt=passed)
    dead = Operation.objects.filter(
        status=OperationStatus.RUNNING, claimed_at__lt=now - RUNNING_DEADLINE
    )
    ids = sorted(
        [
            *overdue.order_by("id").values_list("id", flat=True)[:1000],
            *dead.order_by("id").values_list("id", flat=True)[:1000],
        ]
    )[:1000]
    # Re-queued rows count as due from now, so they are not re-sent every minute.
    Operation.objects.filter(pk__in=ids, status=OperationStatus.PENDING).update(next_attempt_at=now)
    for pk in ids:
        _queue(pk)
    if ids:
        log.info("re-queued %d stale operations", len(ids))
    return len(ids)


# --- Actions: one per kind, each idempotent ----------------------------------------------------


def _user_status(user_id: str, status: str) -> Callable[[], None]:
    def apply() -> None:
        OktaUser.objects.filter(pk=user_id).update(status=status, status_changed=timezone.now())
        statuses_changed_send(source="Gatehouse operation")

    return apply


def _member_add(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    client.add_group_member(p["group_id"], p["user_id"])  # PUT: a repeat is a success

    def mirror() -> None:
        if OktaGroup.objects.filter(pk=p["group_id"]).exists():
            GroupMembership.objects.bulk_create(
                [GroupMembership(group_id=p["group_id"], user_id=p["user_id"])],
                ignore_conflicts=True,
            )

    return Outcome({}, mirror=mirror)


def _member_remove(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    note = ""
    try:
        client.remove_group_member(p["group_id"], p["user_id"])
    except OktaError as exc:
        if not exc.is_not_found:
            raise
        client.get_group(p["group_id"])  # the group exists: the user was not a member
        note = "not a member"

    def mirror() -> None:
        GroupMembership.objects.filter(group_id=p["group_id"], user_id=p["user_id"]).delete()

    return Outcome({}, note=note, mirror=mirror)


def _app_assign(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    existing = client.get_app_user(p["app_id"], p["user_id"])
    if existing is not None and existing.scope == "USER":
        assigned, note = existing, "already assigned"
    else:
        assigned, note = client.assign_app_user(p["app_id"], p["user_id"]), ""

    def mirror() -> None:
        AppAssignment.objects.update_or_create(
            app_id=p["app_id"],
            user_id=p["user_id"],
            defaults={"scope": assigned.scope, "status": assigned.status},
        )

    return Outcome({}, note=note, mirror=mirror)


def _app_unassign(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    note = ""
    try:
        client.unassign_app_user(p["app_id"], p["user_id"])
    except OktaError as exc:
        if not exc.is_not_found or client.get_app_user(p["app_id"], p["user_id"]) is not None:
            raise
        client.get_app(p["app_id"])  # the app exists: the user was not assigned
        note = "not assigned"

    def mirror() -> None:
        AppAssignment.objects.filter(app_id=p["app_id"], user_id=p["user_id"]).delete()

    return Outcome({}, note=note, mirror=mirror)


def _lifecycle(
    *,
    done_in: frozenset[str],
    call: Callable[[OktaClient, Mapping[str, Any]], Any],
    becomes: str | None,
    note: str,
) -> Callable[[OktaClient, Mapping[str, Any]], Outcome]:
    """A user lifecycle action that counts as done when the user is already in ``done_in``.
    ``becomes`` is the status the user is in afterwards; None when Okta decides (activation:
    ACTIVE with a password, PROVISIONED without), and then the user is read back."""

    def action(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
        user = client.get_user(p["user_id"])
        if user.status in done_in:
            return Outcome({}, note=note, mirror=_user_status(p["user_id"], user.status))
        result = call(client, p) or {}
        if becomes is not None:
            return Outcome(result, mirror=_user_status(p["user_id"], becomes))
        answer = _answer(client)
        try:
            after = client.get_user(p["user_id"])
        except OktaError:  # done in Okta all the same: the next sync reads the status
            log.warning("user %s: status not read back after the change", p["user_id"])
            return Outcome(result, **answer)
        return Outcome(result, mirror=_user_status(p["user_id"], after.status), **answer)

    return action


def _activate(client: OktaClient, p: Mapping[str, Any]) -> dict[str, Any]:
    send_email = p.get("send_email", True)
    body = client.activate_user(p["user_id"], send_email=send_email)
    url = body.get("activationUrl")
    return {"activation_url": url} if url and not send_email else {}


def _reactivate(client: OktaClient, p: Mapping[str, Any]) -> dict[str, Any]:
    send_email = p.get("send_email", True)
    body = client.reactivate_user(p["user_id"], send_email=send_email)
    url = body.get("activationUrl")
    return {"activation_url": url} if url and not send_email else {}


def _reset_password(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    send_email = p.get("send_email", True)
    url = client.reset_password(p["user_id"], send_email=send_email)
    result = {"reset_password_url": url} if url and not send_email else {}
    return Outcome(result, mirror=_user_status(p["user_id"], UserStatus.RECOVERY))


def _expire_password(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    if p.get("temp_password"):
        temp = client.expire_password_with_temp_password(
            p["user_id"], revoke_sessions=p.get("revoke_sessions", False)
        )
        result = {"temp_password": temp}
    else:
        client.expire_password(p["user_id"])
        result = {}
    return Outcome(result, mirror=_user_status(p["user_id"], UserStatus.PASSWORD_EXPIRED))


def _reset_factors(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    client.reset_factors(p["user_id"])
    return Outcome({})


def _clear_sessions(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    client.clear_sessions(p["user_id"], oauth_tokens=p.get("oauth_tokens", True))
    return Outcome({})


def _mirror_user(user: Any) -> Callable[[], None]:
    def apply() -> None:
        from okta.sync.rows import USER_ROWS, user_from_typed

        OktaUser.objects.bulk_create(
            [user_from_typed(user)],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=list(USER_ROWS.columns[1:]),
        )

    return apply


def _mirror_new_user(user: Any, group_ids: list[str] | None) -> Callable[[], None]:
    """The user as Okta answered, in the groups Okta has them in (those in the mirror);
    memberships are left as they are when ``group_ids`` is None (Okta could not say)."""
    mirror_user = _mirror_user(user)

    def apply() -> None:
        mirror_user()
        if group_ids is None:
            return
        known = list(OktaGroup.objects.filter(pk__in=group_ids).values_list("pk", flat=True))
        GroupMembership.objects.filter(user_id=user.id).exclude(group_id__in=known).delete()
        GroupMembership.objects.bulk_create(
            [GroupMembership(group_id=gid, user_id=user.id) for gid in known],
            ignore_conflicts=True,
        )

    return apply


def _user_groups(client: OktaClient, user_id: str) -> list[str] | None:
    """The groups Okta has the user in (Everyone, group rules, the ones asked for); None when
    Okta cannot say just now (the next sync reads them)."""
    try:
        return [group.id for group in client.list_user_groups(user_id)]
    except OktaError:
        log.warning("user %s: groups not read back after the create", user_id)
        return None


def _user_create(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    login = p["profile"]["login"]
    existing = client.find_user(login)
    if existing is not None:  # a repeat after a lost answer: Okta's groups, whatever they are
        answer = _answer(client)
        return Outcome(
            {"user_id": existing.id},
            note="already exists",
            mirror=_mirror_new_user(existing, _user_groups(client, existing.id)),
            **answer,
        )
    asked = list(p.get("group_ids", ()))
    user = client.create_user(
        p["profile"],
        activate=p.get("activate", True),
        next_login_change_password=p.get("next_login_change_password", False),
        group_ids=asked,
    )
    answer = _answer(client)
    # A create that succeeded put the user in the groups asked for, if Okta cannot list them.
    groups = _user_groups(client, user.id)
    return Outcome(
        {"user_id": user.id},
        mirror=_mirror_new_user(user, asked if groups is None else groups),
        **answer,
    )


def _user_update(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    user = client.update_user(p["user_id"], p["profile"])
    return Outcome({}, mirror=_mirror_user(user))


def _user_delete(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    user = client.find_user(p["user_id"])
    if user is not None:
        if user.status != UserStatus.DEPROVISIONED:
            raise OktaError(
                "Deactivate the user before deleting: Okta deletes only deactivated users.",
                status=400,
                error_code="E0000038",
            )
        client.delete_user(p["user_id"], send_email=p.get("send_email", False))

    def mirror() -> None:
        GroupMembership.objects.filter(user_id=p["user_id"]).delete()
        AppAssignment.objects.filter(user_id=p["user_id"]).delete()
        OktaUser.objects.filter(pk=p["user_id"]).delete()

    return Outcome({}, note="" if user else "already deleted", mirror=mirror)


def _mirror_group(group: Any) -> Callable[[], None]:
    def apply() -> None:
        OktaGroup.objects.update_or_create(
            id=group.id,
            defaults={
                "type": group.type,
                "name": group.name,
                "description": group.description,
                "created": group.created,
                "last_updated": group.last_updated,
                "last_membership_updated": group.last_membership_updated,
            },
        )

    return apply


def _group_create(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    existing = client.find_group_by_name(p["name"])
    if existing is not None:
        return Outcome(
            {"group_id": existing.id}, note="already exists", mirror=_mirror_group(existing)
        )
    group = client.create_group(p["name"], p.get("description", ""))
    return Outcome({"group_id": group.id}, mirror=_mirror_group(group))


def _group_update(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    group = client.update_group(p["group_id"], name=p["name"], description=p.get("description", ""))
    return Outcome({}, mirror=_mirror_group(group))


def _group_delete(client: OktaClient, p: Mapping[str, Any]) -> Outcome:
    client.delete_group(p["group_id"])  # a 404 counts as done

    def mirror() -> None:
        GroupMembership.objects.filter(group_id=p["group_id"]).delete()
        OktaGroup.objects.filter(pk=p["group_id"]).delete()

    return Outcome({}, mirror=mirror)


_S = UserStatus
ACTIONS: dict[str, Callable[[OktaClient, Mapping[str, Any]], Outcome]] = {
    OperationKind.GROUP_MEMBER_ADD: _member_add,
    OperationKind.GROUP_MEMBER_REMOVE: _member_remove,
    OperationKind.APP_USER_ASSIGN: _app_assign,
    OperationKind.APP_USER_UNASSIGN: _app_unassign,
    OperationKind.USER_CREATE: _user_create,
    OperationKind.USER_UPDATE: _user_update,
    OperationKind.USER_ACTIVATE: _lifecycle(
        done_in=frozenset({_S.ACTIVE}), call=_activate, becomes=None, note="already active"
    ),
    OperationKind.USER_REACTIVATE: _lifecycle(
        done_in=frozenset({_S.ACTIVE}),
        call=_reactivate,
        becomes=_S.PROVISIONED,
        note="already active",
    ),
    OperationKind.USER_DEACTIVATE: _lifecycle(
        done_in=frozenset({_S.DEPROVISIONED}),
        call=lambda c, p: c.deactivate_user(p["user_id"], send_email=p.get("send_email", False)),
        becomes=_S.DEPROVISIONED,
        note="already deactivated",
    ),
    OperationKind.USER_SUSPEND: _lifecycle(
        done_in=frozenset({_S.SUSPENDED}),
        call=lambda c, p: c.suspend_user(p["user_id"]),
        becomes=_S.SUSPENDED,
        note="already suspended",
    ),
    OperationKind.USER_UNSUSPEND: _lifecycle(
        done_in=frozenset({_S.ACTIVE}),
        call=lambda c, p: c.unsuspend_user(p["user_id"]),
        becomes=_S.ACTIVE,
        note="already active",
    ),
    OperationKind.USER_UNLOCK: _lifecycle(
        done_in=frozenset({_S.ACTIVE}),
        call=lambda c, p: c.unlock_user(p["user_id"]),
        becomes=_S.ACTIVE,
        note="not locked",
    ),
    OperationKind.USER_DELETE: _user_delete,
    OperationKind.USER_RESET_PASSWORD: _reset_password,
    OperationKind.USER_EXPIRE_PASSWORD: _expire_password,
    OperationKind.USER_RESET_FACTORS: _reset_factors,
    OperationKind.USER_CLEAR_SESSIONS: _clear_sessions,
    OperationKind.GROUP_CREATE: _group_create,
    OperationKind.GROUP_UPDATE: _group_update,
    OperationKind.GROUP_DELETE: _group_delete,
}
