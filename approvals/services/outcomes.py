"""What Okta answered: completing or failing requests and grant removals from their
operations, finishing those whose callback was lost, retrying failed requests.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals import notifications
from approvals.fulfilment import fulfilment_for
from approvals.models import (
    AccessRequest,
    Grant,
    GrantStatus,
    RequestStatus,
)
from approvals.services.common import (
    CALLBACK_TASK,
    ApprovalError,
    actor_name,
    audit_request,
    okta_message,
    operation_enqueue,
    timeline_event,
)
from approvals.services.decisions import load_for_decision
from approvals.services.grants import grant_operation_finished
from okta.models import (
    Operation,
    OperationStatus,
)
from okta.operations import (
    operation_retry,
)

logger = logging.getLogger(__name__)


def operation_finished(*, operation_id: int) -> None:
    """Callback for a final Operation: move its request or grant along. Safe to run twice."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None or not op.is_final:
        return
    prefix, _, key = op.correlation.partition(":")
    if prefix == "request" and key.isdigit():
        _request_operation_finished(op, int(key))
    elif prefix == "grant" and key.isdigit():
        grant_operation_finished(op, int(key))


def _counted(req: AccessRequest, ops: list[Operation]) -> dict[Any, Operation]:
    """The operations whose outcome is the request's. A retried catalog request has older
    failed rows, so the newest row per kind counts; an action may hold several operations of
    one kind (a new user's app assignments), and all of them count."""
    return {o.pk if req.kind else o.kind: o for o in ops}


def _enqueue_followups(req: AccessRequest, ops: list[Operation]) -> bool:
    """Operations the fulfilment adds after one of its operations succeeded; True if any."""
    hook = fulfilment_for(req.kind)
    added = False
    for done in [o for o in ops if o.status == OperationStatus.SUCCEEDED]:
        for kind, params in hook.followups(req, done):
            operation_enqueue(
                kind=kind,
                params=params,
                actor="system",
                correlation=req.correlation,
                callback_task=CALLBACK_TASK,
            )
            added = True
    return added


def _request_operation_finished(op: Operation, request_id: int) -> None:
    with transaction.atomic():
        req = (
            AccessRequest.objects.select_for_update(of=("self",))
            .select_related("item")
            .filter(pk=request_id)
            .first()
        )
        if req is None or req.status not in (RequestStatus.APPROVED, RequestStatus.FULFILLING):
            return
        ops = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
        if req.kind and _enqueue_followups(req, ops):
            return
        latest = _counted(req, ops)
        if any(not o.is_final for o in latest.values()):
            return
        failed = [o for o in latest.values() if o.status == OperationStatus.FAILED]
        now = timezone.now()
        if failed:
            message = okta_message(failed[0])
            req.status = RequestStatus.FAILED
            req.failure_message = message
            req.finished_at = now
            req.save(update_fields=["status", "failure_message", "finished_at"])
            timeline_event(
                req, "okta_failed", f"Okta refused the change: {message}", "Okta", problem=True
            )
            audit_request(
                req,
                "access_request.failed",
                "okta",
                outcome="failure",
                operation_id=failed[0].pk,
                okta_status=failed[0].okta_status,
                error_code=failed[0].error_code,
                error_summary=failed[0].error_summary,
                okta_request_id=failed[0].okta_request_id,
            )
            notifications.send_after_commit(
                notifications.to_requester(req.pk, "failed"),
                notifications.to_admins_of_failure(req.pk),
            )
            return
        req.status = RequestStatus.COMPLETED
        req.finished_at = now
        req.failure_message = ""
        req.save(update_fields=["status", "finished_at", "failure_message"])
        ref = ", ".join(o.okta_request_id for o in latest.values() if o.okta_request_id)
        if req.kind:
            timeline_event(
                req,
                "okta_done",
                f"Okta made the change{f' (request id {ref})' if ref else ''}.",
                "Okta",
            )
            audit_request(
                req,
                "access_request.completed",
                "okta",
                operation_ids=[o.pk for o in latest.values()],
                okta_request_id=ref,
            )
            notifications.send_after_commit(notifications.to_requester(req.pk, "completed"))
            return
        assert req.item is not None and req.subject_id is not None
        expires = now + timedelta(days=req.duration_days) if req.duration_days else None
        grant, _ = Grant.objects.get_or_create(
            request=req,
            defaults={"item": req.item, "subject_id": req.subject_id, "expires_at": expires},
        )
        if req.extends_grant_id:
            Grant.objects.filter(pk=req.extends_grant_id, status=GrantStatus.ACTIVE).update(
                status=GrantStatus.SUPERSEDED
            )
        until = f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else " (permanent)"
        timeline_event(
            req,
            "okta_done",
            f"Okta made the change{f' (request id {ref})' if ref else ''}. Access granted{until}.",
            "Okta",
        )
        audit_request(
            req,
            "access_request.completed",
            "okta",
            operation_ids=[o.pk for o in latest.values()],
            okta_request_id=ref,
            grant_id=grant.pk,
            expires_at=expires.isoformat() if expires else None,
        )
        notifications.send_after_commit(notifications.to_requester(req.pk, "completed"))


RECONCILE_BATCH = 1000  # requests, and grants, looked at per run (beat runs it every minute)


def _unfinished_operations(prefix: str) -> QuerySet[Operation]:
    """The outer row's operations still pending or running (its correlation is prefix + pk)."""
    return Operation.objects.filter(
        correlation=Concat(Value(prefix), Cast(OuterRef("pk"), CharField())),
        status__in=(OperationStatus.PENDING, OperationStatus.RUNNING),
    )


def _operations_by_correlation(correlations: list[str]) -> defaultdict[str, list[Operation]]:
    """Every operation of these correlations, oldest first, in one query."""
    found: defaultdict[str, list[Operation]] = defaultdict(list)
    if correlations:
        for op in Operation.objects.filter(correlation__in=correlations).order_by("id"):
            found[op.correlation].append(op)
    return found


def _lost_callback(latest: list[Operation], cutoff: datetime) -> Operation | None:
    """The operation to finish with when ``latest`` (the operations that count for one
    correlation) are all final and were final before ``cutoff``, so their callback should have
    arrived by now."""
    if not latest or any(not o.is_final for o in latest):
        return None  # the okta reaper looks after operations still pending or running
    if any(o.finished_at and o.finished_at > cutoff for o in latest):
        return None  # its callback may still be on its way
    return max(latest, key=lambda o: o.pk)


def access_requests_reconcile(*, grace: timedelta | None = None) -> int:
    """Finish requests and grant removals whose operations are all final but whose callback
    never arrived (a worker killed between recording Okta's answer and running the callback,
    a message lost with the broker); returns how many were moved on. Safe to run any time
    (beat runs it)."""
    grace = grace or timedelta(seconds=getattr(settings, "OKTA_OPERATION_LOST_GRACE", 120))
    cutoff = timezone.now() - grace
    # Requests and grants with an operation still pending or running are the reaper's, and
    # left out in SQL: a backlog of thousands being drained is neither read nor in the way of
    # the few whose callback was lost. Their operations are then read in one query.
    stuck = (
        AccessRequest.objects.filter(
            status__in=(RequestStatus.APPROVED, RequestStatus.FULFILLING), decided_at__lte=cutoff
        )
        .exclude(Exists(_unfinished_operations("request:")))
        .only("pk", "kind")
        .order_by("decided_at", "pk")[:RECONCILE_BATCH]
    )
    requests = list(stuck)
    ops = _operations_by_correlation([req.correlation for req in requests])
    moved = 0
    for req in requests:
        op = _lost_callback(list(_counted(req, ops[req.correlation]).values()), cutoff)
        if op is not None:
            _request_operation_finished(op, req.pk)
            moved += 1
    # A grant only leaves ACTIVE together with its removal operation (one transaction), so a
    # lost callback leaves it REVOKING. A removal retried by an admin is a newer operation of
    # the same correlation: the latest one decides.
    revoking = list(
        Grant.objects.filter(status=GrantStatus.REVOKING)
        .exclude(Exists(_unfinished_operations("grant:")))
        .order_by("pk")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    ops = _operations_by_correlation([f"grant:{pk}" for pk in revoking])
    for grant_id in revoking:
        op = _lost_callback(ops[f"grant:{grant_id}"][-1:], cutoff)
        if op is not None:
            grant_operation_finished(op, grant_id)
            moved += 1
    if moved:
        logger.info("finished %d requests or grant removals whose callback was lost", moved)
    return moved


def access_request_retry(
    *, actor: User, request_id: int, http_request: HttpRequest | None = None
) -> AccessRequest:
    """Admins: send a failed request's failed operations to Okta again."""
    if not actor.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such request")
    with transaction.atomic():
        req = load_for_decision(request_id)
        if req.status != RequestStatus.FAILED:
            raise ApprovalError(
                f"Only failed requests can be retried; #{req.pk} is {req.get_status_display().lower()}."
            )
        ops = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
        latest = _counted(req, ops)
        failed = [o for o in latest.values() if o.status == OperationStatus.FAILED]
        for op in failed:
            operation_retry(operation_id=op.pk, actor=actor)
        req.status = RequestStatus.FULFILLING
        req.failure_message = ""
        req.finished_at = None
        req.save(update_fields=["status", "failure_message", "finished_at"])
        timeline_event(req, "retried", "Retrying the change in Okta.", actor_name(actor))
        audit_request(req, "access_request.retried", actor, http_request)
    return req
