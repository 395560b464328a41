"""Access given: ending it (expiry, an admin, the holder giving it up), reminders before
it ends, retrying a failed removal.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals import notifications
from approvals.models import (
    Grant,
    GrantStatus,
    ItemKind,
    not_requestable_reason,
)
from approvals.services.common import (
    CALLBACK_TASK,
    ApprovalError,
    actor_name,
    okta_message,
    operation_enqueue,
    operation_for,
    timeline_event,
)
from audit.services import audit_record
from okta.models import (
    AppAssignment,
    GroupMembership,
    GroupType,
    Operation,
    OperationKind,
    OperationStatus,
)
from okta.operations import (
    operation_retry,
)

logger = logging.getLogger(__name__)


def _grant_start_revoke(
    grant: Grant,
    *,
    actor: Any,
    reason: str,
    note: str = "",
    http_request: HttpRequest | None = None,
) -> bool:
    """Claim an active grant for removal and queue its Okta operation; False if it was no longer
    active. ``note`` is what the person who ended it wrote, shown to the holder."""
    claimed = Grant.objects.filter(pk=grant.pk, status=GrantStatus.ACTIVE).update(
        status=GrantStatus.REVOKING, revoke_reason=reason, revoke_note=note
    )
    if not claimed:
        return False
    kind, params = operation_for(grant.item, grant.subject_id, add=False)
    operation_enqueue(
        kind=kind,
        params=params,
        actor=actor,
        correlation=grant.correlation,
        callback_task=CALLBACK_TASK,
    )
    text = {
        "expired": "Access period ended: removing the access in Okta.",
        "relinquished": "Gave up this access: removing it in Okta.",
        "ended_by_admin": f"An admin ended this access ({note}): removing it in Okta.",
    }.get(reason, f"Removing the access in Okta ({reason}).")
    actor_label = actor if isinstance(actor, str) else actor_name(actor)
    timeline_event(grant.request, "revoking", text, actor_label)
    audit_record(
        action="grant.revoke_started",
        actor=actor,
        target_type="grant",
        target_id=str(grant.pk),
        target_label=f"{grant.item.name} for {grant.request.subject_label}",
        detail={
            "reason": reason,
            "request_id": grant.request_id,
            "subject": grant.subject_id,
            **({"note": note} if note else {}),
        },
        request=http_request,
    )
    return True


GRANT_NOT_ACTIVE = {
    GrantStatus.REVOKING: "Gatehouse is already removing this access in Okta.",
    GrantStatus.REVOKED: "This access has already been removed.",
    GrantStatus.SUPERSEDED: "This access was extended: end the grant that replaced it.",
    GrantStatus.REVOKE_FAILED: (
        "Okta refused to remove this access earlier: retry the removal from the operation queue."
    ),
}


def _lock_grant(grant_id: int) -> Grant:
    """The grant, locked for this transaction (with its item and request), or 404."""
    grant = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("item", "request")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None:
        raise Http404("No such grant")
    return grant


def grant_end(
    *, actor: User, grant_id: int, reason: str, http_request: HttpRequest | None = None
) -> Grant:
    """Admins: end someone's grant now, through the same removal as expiry. The holder is told
    by email, with the reason, once Okta has removed the access."""
    if not actor.has_perm("approvals.manage_grants"):
        raise Http404("No such grant")
    reason = reason.strip()
    if not reason:
        raise ApprovalError("Say why this access ends: the holder is told.", field="reason")
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.status != GrantStatus.ACTIVE:
            raise ApprovalError(GRANT_NOT_ACTIVE[GrantStatus(grant.status)])
        _grant_start_revoke(
            grant, actor=actor, reason="ended_by_admin", note=reason, http_request=http_request
        )
    grant.status, grant.revoke_reason, grant.revoke_note = (
        GrantStatus.REVOKING,
        "ended_by_admin",
        reason,
    )
    return grant


def grants_revoke_due(*, now: datetime | None = None) -> int:
    """Beat task: start revoking every grant whose time is up, whatever sync says."""
    due = list(Grant.objects.due(now).values_list("pk", flat=True)[:1000])
    started = 0
    for pk in due:
        try:
            with transaction.atomic():
                grant = Grant.objects.select_related("item", "request").get(pk=pk)
                started += _grant_start_revoke(grant, actor="system", reason="expired")
        except ApprovalError:
            logger.exception("grant %s could not be revoked", pk)
    return started


def grant_operation_finished(op: Operation, grant_id: int) -> None:
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("item", "request")
            .filter(pk=grant_id)
            .first()
        )
        if grant is None or grant.status != GrantStatus.REVOKING:
            return
        target = f"{grant.item.name} for {grant.request.subject_label}"
        if op.status == OperationStatus.FAILED:
            grant.status = GrantStatus.REVOKE_FAILED
            grant.failure_message = okta_message(op)
            grant.save(update_fields=["status", "failure_message"])
            timeline_event(
                grant.request,
                "revoke_failed",
                f"Okta refused to remove the access: {grant.failure_message}",
                "Okta",
                problem=True,
            )
            outcome = "failure"
        else:
            grant.status = GrantStatus.REVOKED
            grant.revoked_at = timezone.now()
            grant.save(update_fields=["status", "revoked_at"])
            timeline_event(grant.request, "revoked", "Access removed in Okta.", "Okta")
            outcome = "success"
            notifications.send_after_commit(notifications.to_grant_holder(grant.pk, "revoked"))
        audit_record(
            action="grant.revoked" if outcome == "success" else "grant.revoke_failed",
            actor="okta",
            target_type="grant",
            target_id=str(grant.pk),
            target_label=target,
            outcome=outcome,
            detail={
                "reason": grant.revoke_reason,
                "operation_id": op.pk,
                "okta_status": op.okta_status,
                "error_code": op.error_code,
                "error_summary": op.error_summary,
                "okta_request_id": op.okta_request_id,
            },
        )


def grant_revoke_retry(
    *, actor: User, grant_id: int, http_request: HttpRequest | None = None
) -> Grant:
    """Admins: send a failed removal to Okta again."""
    if not actor.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such grant")
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.status != GrantStatus.REVOKE_FAILED:
            raise ApprovalError(
                f"Only a failed removal can be retried; this one is {grant.get_status_display().lower()}."
            )
        failed = (
            Operation.objects.filter(correlation=grant.correlation, status=OperationStatus.FAILED)
            .order_by("-id")
            .first()
        )
        if failed is None:
            raise ApprovalError("There is no failed Okta operation to retry.")
        operation_retry(operation_id=failed.pk, actor=actor)
        grant.status = GrantStatus.REVOKING
        grant.failure_message = ""
        grant.save(update_fields=["status", "failure_message"])
        timeline_event(grant.request, "retried", "Retrying the removal in Okta.", actor_name(actor))
        audit_record(
            action="grant.revoke_retried",
            actor=actor,
            target_type="grant",
            target_id=str(grant.pk),
            target_label=f"{grant.item.name} for {grant.request.subject_label}",
            detail={"operation_id": failed.pk},
            request=http_request,
        )
    return grant


def grants_remind_expiring(*, now: datetime | None = None) -> int:
    """Beat task: email holders once, ``APPROVALS_REMINDER_DAYS`` before their grant ends."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.APPROVALS_REMINDER_DAYS)
    due = list(
        Grant.objects.filter(
            status=GrantStatus.ACTIVE,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
        ).values_list("pk", flat=True)[:1000]
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            if Grant.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                notifications.send_after_commit(notifications.to_grant_holder(pk, "reminder"))
                sent += 1
    return sent


def access_relinquish(
    *,
    actor: User,
    kind: str,
    resource_id: str,
    http_request: HttpRequest | None = None,
) -> None:
    """Give up one's own group membership or direct app assignment (an Okta operation)."""
    if not actor.okta_id:
        raise Http404("No such access")
    with transaction.atomic():
        grant = (
            Grant.objects.select_related("item", "request")
            .filter(
                subject_id=actor.okta_id,
                status=GrantStatus.ACTIVE,
                **(
                    {"item__group_id": resource_id}
                    if kind == ItemKind.GROUP
                    else {"item__app_id": resource_id}
                ),
            )
            .first()
        )
        if grant is not None:
            _grant_start_revoke(grant, actor=actor, reason="relinquished")
            return
        if kind == ItemKind.GROUP:
            membership = (
                GroupMembership.objects.select_related("group")
                .filter(user_id=actor.okta_id, group_id=resource_id)
                .first()
            )
            if membership is None:
                raise Http404("No such access")
            if membership.group.type != GroupType.OKTA_GROUP:
                raise ApprovalError(not_requestable_reason(membership.group))
            label = membership.group.name
            op_kind = OperationKind.GROUP_MEMBER_REMOVE
            params = {"group_id": resource_id, "user_id": actor.okta_id}
        else:
            assignment = (
                AppAssignment.objects.select_related("app")
                .filter(user_id=actor.okta_id, app_id=resource_id)
                .first()
            )
            if assignment is None:
                raise Http404("No such access")
            if assignment.scope != "USER":
                raise ApprovalError(
                    f"You have {assignment.app.label} through a group: leave that group instead."
                )
            label = assignment.app.label
            op_kind = OperationKind.APP_USER_UNASSIGN
            params = {"app_id": resource_id, "user_id": actor.okta_id}
        pending = Operation.objects.filter(
            correlation=f"relinquish:{actor.okta_id}:{resource_id}",
            status__in=(OperationStatus.PENDING, OperationStatus.RUNNING),
        ).exists()
        if pending:
            raise ApprovalError(f"Gatehouse is already removing {label}.")
        operation_enqueue(
            kind=op_kind,
            params=params,
            actor=actor,
            correlation=f"relinquish:{actor.okta_id}:{resource_id}",
        )
        audit_record(
            action="access.relinquished",
            actor=actor,
            target_type="group" if kind == ItemKind.GROUP else "app",
            target_id=resource_id,
            target_label=label,
            detail={"subject": actor.okta_id},
            request=http_request,
        )
