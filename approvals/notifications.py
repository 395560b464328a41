"""Emails about requests and grants. Called only through ``transaction.on_commit``.

Every message links straight to the request (``settings.SITE_URL``). Addresses come from the
Okta mirror, so people who never signed in to Gatehouse (a report, an approver) still hear.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.urls import reverse

from approvals.models import AccessRequest, Grant, RequestApprover
from okta.models import GroupMembership, OktaUser

logger = logging.getLogger(__name__)


def _link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _request_link(req: AccessRequest) -> str:
    return _link(reverse("approvals:request_detail", args=[req.pk]))


def _send(subject: str, template: str, context: dict[str, object], to: Iterable[str]) -> int:
    recipients = sorted({a for a in to if a})
    if not recipients:
        return 0
    body = render_to_string(template, context)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:  # mail trouble must never undo or break a decision already committed
        logger.exception("could not send %r to %d recipients", subject, len(recipients))
        return 0


def _emails_for_okta_ids(okta_ids: Iterable[str]) -> list[str]:
    return list(OktaUser.objects.filter(id__in=list(okta_ids)).values_list("email", flat=True))


def _requester_emails(req: AccessRequest) -> list[str]:
    """The requester, and the person who gets the access (not the person an action is about:
    nobody is told by email that someone asked to suspend them)."""
    emails = [req.requester.email]
    if not req.kind and req.subject_id:
        emails += _emails_for_okta_ids([req.subject_id])
    return emails


def notify_stage_approvers(request_id: int, stage: int) -> None:
    req = AccessRequest.objects.select_related("item", "requester").get(pk=request_id)
    okta_ids = RequestApprover.objects.filter(
        request=req, stage=stage, decided_at__isnull=True
    ).values_list("okta_id", flat=True)
    _send(
        f"[Gatehouse] Approval needed: {req.label}",
        "approvals/email/approval_needed.txt",
        {"req": req, "link": _request_link(req), "inbox": _link(reverse("approvals:inbox"))},
        _emails_for_okta_ids(okta_ids),
    )


def notify_requester(request_id: int, event: str) -> None:
    """``event``: decided, completed, failed, expired, cancelled."""
    req = AccessRequest.objects.select_related("item", "requester").get(pk=request_id)
    last = req.decisions.select_related("decider").last()
    _send(
        f"[Gatehouse] {req.what}: {req.get_status_display().lower()}",
        "approvals/email/request_update.txt",
        {"req": req, "event": event, "decision": last, "link": _request_link(req)},
        _requester_emails(req),
    )


def notify_admins_of_failure(request_id: int) -> None:
    req = AccessRequest.objects.select_related("item").get(pk=request_id)
    admin_ids = GroupMembership.objects.filter(
        group__name=settings.GATEHOUSE_ADMIN_GROUP
    ).values_list("user_id", flat=True)
    _send(
        f"[Gatehouse] Okta refused request #{req.pk}: {req.what}",
        "approvals/email/admin_failure.txt",
        {"req": req, "link": _request_link(req), "queue": _link(reverse("approvals:operations"))},
        _emails_for_okta_ids(admin_ids),
    )


def notify_grant(grant_id: int, event: str) -> None:
    """``event``: reminder, revoked."""
    grant = Grant.objects.select_related("item", "request", "subject").get(pk=grant_id)
    extend = _link(reverse("approvals:grant_extend", args=[grant.pk]))
    subject = (
        f"[Gatehouse] Your access to {grant.item.name} ends soon"
        if event == "reminder"
        else f"[Gatehouse] Your access to {grant.item.name} has ended"
    )
    _send(
        subject,
        "approvals/email/grant_update.txt",
        {
            "grant": grant,
            "event": event,
            "extend_link": extend,
            "link": _request_link(grant.request),
        },
        _emails_for_okta_ids([grant.subject_id]),
    )
