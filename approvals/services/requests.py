"""Asking for access (or, for another app, for approval of its own kind of request),
withdrawing a request, and expiring the ones nobody decided.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals import notifications
from approvals.fulfilment import fulfilment_for
from approvals.models import (
    OPEN_STATUSES,
    AccessRequest,
    CatalogItem,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    RequestStatus,
)
from approvals.services.common import (
    GRANTABLE_SUBJECT_STATUSES,
    ApprovalError,
    Writes,
    actor_name,
    audit_request,
    timeline_event,
)
from approvals.services.decisions import (
    approve_finals,
    load_for_decision,
    operation_specs,
    route_first_stage,
)
from okta.models import (
    AppAssignment,
    GroupMembership,
    OktaUser,
)


def subjects_for(user: User) -> list[OktaUser]:
    """The people this user may request for: themselves, then their direct reports."""
    if not user.okta_id:
        return []
    me = OktaUser.objects.filter(pk=user.okta_id)
    reports = OktaUser.objects.filter(manager_id=user.okta_id).exclude(pk=user.okta_id)
    return list(me) + list(reports.order_by("last_name", "first_name", "id"))


def holds_access(*, subject_id: str, item: CatalogItem) -> bool:
    if item.kind == ItemKind.GROUP:
        return GroupMembership.objects.filter(group_id=item.group_id, user_id=subject_id).exists()
    return AppAssignment.objects.filter(app_id=item.app_id, user_id=subject_id).exists()


def access_request_submit(
    *,
    requester: User,
    item: CatalogItem,
    subject_id: str | None = None,
    reason: str = "",
    duration_days: int | None = None,
    extends_grant: Grant | None = None,
    http_request: HttpRequest | None = None,
) -> AccessRequest:
    """Ask for ``item`` for ``subject_id`` (default: the requester)."""
    if not requester.okta_id:
        raise ApprovalError("Your account is not linked to an Okta user, so you cannot ask.")
    subject_id = subject_id or requester.okta_id
    subject = OktaUser.objects.filter(pk=subject_id).first()
    if subject is None:
        raise ApprovalError("That person is not in the directory.", field="subject")
    if subject_id != requester.okta_id and subject.manager_id != requester.okta_id:
        raise ApprovalError(
            "You can ask only for yourself or for your direct reports.", field="subject"
        )
    if subject.status not in GRANTABLE_SUBJECT_STATUSES:
        raise ApprovalError(
            f"{subject} cannot get new access: their Okta account is {subject.status.lower()}.",
            field="subject",
        )
    item = CatalogItem.objects.select_related("policy", "group", "app").get(pk=item.pk)
    if not item.published:
        raise ApprovalError("This item is not in the catalog.")
    if item.not_requestable_reason:
        raise ApprovalError(item.not_requestable_reason)
    policy = item.policy
    if not policy.may_request(department=subject.department):
        raise ApprovalError(
            f"Policy “{policy.name}” does not let people in {subject.department or 'no department'} ask for this."
        )
    reason = reason.strip()
    if item.reason_required and not reason:
        raise ApprovalError("Please say why you need this access.", field="reason")
    if duration_days is not None and duration_days < 1:
        raise ApprovalError("The duration must be at least one day.", field="duration_days")
    if item.max_duration_days is not None:
        if duration_days is None:
            raise ApprovalError(
                f"Permanent access is not offered: choose at most {item.max_duration_days} days.",
                field="duration_days",
            )
        if duration_days > item.max_duration_days:
            raise ApprovalError(
                f"The longest you can ask for is {item.max_duration_days} days.",
                field="duration_days",
            )
    if extends_grant is not None:
        if (
            extends_grant.subject_id != subject_id
            or extends_grant.item_id != item.pk
            or extends_grant.status != GrantStatus.ACTIVE
        ):
            raise ApprovalError("That access cannot be extended.")
    elif holds_access(subject_id=subject_id, item=item):
        who = "You already have" if subject_id == requester.okta_id else f"{subject} already has"
        raise ApprovalError(f"{who} {item.name}: there is nothing to ask for.")
    existing = AccessRequest.objects.filter(
        subject_id=subject_id, item=item, status__in=OPEN_STATUSES
    ).first()
    if existing is not None:
        raise ApprovalError(
            f"There is already an open request #{existing.pk} for {item.name} "
            f"({existing.get_status_display().lower()})."
        )
    stages = policy.stage_snapshot()
    if not stages:
        raise ApprovalError(f"Policy “{policy.name}” has no stages; ask an admin to fix it.")
    now = timezone.now()
    req = AccessRequest(
        item=item,
        requester=requester,
        subject=subject,
        subject_label=str(subject),
        reason=reason,
        duration_days=duration_days,
        policy_name=policy.name,
        stages=stages,
        extends_grant=extends_grant,
        created_at=now,
        pending_until=now + timedelta(days=settings.APPROVALS_PENDING_EXPIRY_DAYS),
    )
    auto_reason = policy.auto_approve_reason(risk=item.risk, department=subject.department)
    with transaction.atomic():
        try:
            with transaction.atomic():
                req.save()
        except IntegrityError as exc:  # a concurrent twin won the race
            raise ApprovalError(f"There is already an open request for {item.name}.") from exc
        on_behalf = "" if subject_id == requester.okta_id else f" on behalf of {subject}"
        timeline_event(
            req, "submitted", f"Asked for {item.name}{on_behalf}.", actor_name(requester)
        )
        audit_request(
            req,
            "access_request.submitted",
            requester,
            http_request,
            reason=reason,
            duration_days=duration_days,
            policy=policy.name,
        )
        if auto_reason:
            req.auto_approved_reason = auto_reason
            req.save(update_fields=["auto_approved_reason"])
            timeline_event(req, "auto_approved", auto_reason, "Gatehouse")
            out = Writes()
            approve_finals([(req, operation_specs(req, "system"))], "system", out, auto_reason)
            out.flush(http_request)
        else:
            route_first_stage(req, requester, http_request)
    return req


def approval_request_open(
    *,
    requester: User,
    kind: str,
    policy: Policy,
    title: str,
    subject_id: str | None = None,
    subject_label: str = "",
    reason: str = "",
    http_request: HttpRequest | None = None,
) -> AccessRequest:
    """Ask for approval of something that is not a catalog item (``kind`` names the
    fulfilment registered for it): the same stages, approvers, decisions, timeline, emails,
    expiry and inbox as access requests. Call it inside the caller's transaction."""
    fulfilment_for(kind)  # refuse an unknown kind before writing anything
    stages = policy.stage_snapshot()
    if not stages:
        raise ApprovalError(f"Policy “{policy.name}” has no stages; ask an admin to fix it.")
    now = timezone.now()
    with transaction.atomic():
        req = AccessRequest.objects.create(
            kind=kind,
            title=title[:255],
            requester=requester,
            subject_id=subject_id,
            subject_label=subject_label,
            reason=reason.strip(),
            policy_name=policy.name,
            stages=stages,
            created_at=now,
            pending_until=now + timedelta(days=settings.APPROVALS_PENDING_EXPIRY_DAYS),
        )
        timeline_event(req, "submitted", f"Asked for “{req.label}”.", actor_name(requester))
        audit_request(req, "access_request.submitted", requester, http_request, policy=policy.name)
        route_first_stage(req, requester, http_request)
    return req


def access_request_cancel(
    *, actor: User, request_id: int, http_request: HttpRequest | None = None
) -> AccessRequest:
    with transaction.atomic():
        req = load_for_decision(request_id)
        if not (req.requester_id == actor.pk or req.subject_id == actor.okta_id):
            raise Http404("No such request")
        if not req.can_be_cancelled_by(actor) and req.is_pending:
            raise ApprovalError("Only the person who asked can cancel this request.")
        if not req.is_pending:
            raise ApprovalError(
                f"Request #{req.pk} can no longer be cancelled: it is {req.get_status_display().lower()}."
            )
        req.status = RequestStatus.CANCELLED
        req.finished_at = timezone.now()
        req.save(update_fields=["status", "finished_at"])
        timeline_event(req, "cancelled", "Cancelled.", actor_name(actor))
        audit_request(req, "access_request.cancelled", actor, http_request)
    return req


def access_requests_expire(*, now: datetime | None = None) -> int:
    """Expire pending requests nobody decided in time (beat task). Returns how many."""
    now = now or timezone.now()
    due = list(
        AccessRequest.objects.filter(status=RequestStatus.PENDING, pending_until__lte=now)
        .order_by("pending_until")
        .values_list("pk", flat=True)[:1000]
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            # When it happened, not ``now``, which may be a time approvals_run_due pretends.
            claimed = AccessRequest.objects.filter(pk=pk, status=RequestStatus.PENDING).update(
                status=RequestStatus.EXPIRED, finished_at=timezone.now()
            )
            if not claimed:
                continue
            req = AccessRequest.objects.select_related("item").get(pk=pk)
            days = settings.APPROVALS_PENDING_EXPIRY_DAYS
            timeline_event(
                req, "expired", f"Expired: nobody decided within {days} days.", "Gatehouse"
            )
            audit_request(req, "access_request.expired", "system")
            notifications.send_after_commit(notifications.to_requester(pk, "expired"))
            expired += 1
    return expired
