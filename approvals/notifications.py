"""Emails about requests and grants, sent by a Celery task once the change has committed.

Services say whom to tell with ``send_after_commit(to_requester(...), ...)``: after commit, one
``approvals.send_notifications`` task, sent by name (core/notes.py), carries every note of the
transaction (a bulk decision of a hundred requests is one task), so a slow or unreachable mail
server never holds up a web request and can never undo a decision. Notes the mail server
refuses are retried with backoff.

Every message links straight to the request (``settings.SITE_URL``). Addresses come from the
Okta mirror, so people who never signed in to Gatehouse (a report, an approver) still hear.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from approvals import signals
from approvals.models import AccessRequest, Grant, RequestApprover
from core import notes as core_notes
from core.notes import Composer, Note
from okta.models import GroupMembership, OktaUser

TASK = "approvals.send_notifications"


def to_requester(request_id: int, event: str) -> Note:
    """``event``: decided, completed, failed, expired."""
    return ("requester", request_id, event)


def to_stage_approvers(request_id: int, stage: int) -> Note:
    return ("stage_approvers", request_id, stage)


def to_admins_of_failure(request_id: int) -> Note:
    return ("admins_of_failure", request_id, "")


def to_grant_holder(grant_id: int, event: str) -> Note:
    """``event``: reminder, revoked."""
    return ("grant", grant_id, event)


def send_after_commit(*notes: Note) -> None:
    """Send one ``approvals.send_notifications`` task with these notes when the transaction
    commits (nothing on rollback), and the signals they stand for (approvals/signals.py)."""
    core_notes.notes_send_after_commit(TASK, *notes)
    if notes:
        transaction.on_commit(partial(signals.notes_committed, notes), robust=True)


def notes_send(notes: Iterable[Note]) -> list[Note]:
    """Send the emails of ``notes`` over one mail connection; returns the notes whose sending
    failed (to try again later). A note about something gone from the database is dropped."""
    return core_notes.notes_send(notes, _COMPOSERS)


def _link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _request_link(req: AccessRequest) -> str:
    return _link(reverse("approvals:request_detail", args=[req.pk]))


def _messages(
    subject: str, template: str, context: dict[str, object], to: Iterable[str]
) -> list[EmailMessage]:
    recipients = sorted({a for a in to if a})
    if not recipients:
        return []
    body = render_to_string(template, context)
    return [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]


def _emails_for_okta_ids(okta_ids: Iterable[str]) -> list[str]:
    return list(OktaUser.objects.filter(id__in=list(okta_ids)).values_list("email", flat=True))


def _requester_emails(req: AccessRequest) -> list[str]:
    """The requester, and the person who gets the access (not the person an action is about:
    nobody is told by email that someone asked to suspend them)."""
    emails = [req.requester.email]
    if not req.kind and req.subject_id:
        emails += _emails_for_okta_ids([req.subject_id])
    return emails


def _stage_approvers(request_id: int, stage: int) -> list[EmailMessage]:
    req = AccessRequest.objects.select_related("item", "requester").get(pk=request_id)
    okta_ids = RequestApprover.objects.filter(
        request=req, stage=stage, decided_at__isnull=True
    ).values_list("okta_id", flat=True)
    return _messages(
        f"[Gatehouse] Approval needed: {req.label}",
        "approvals/email/approval_needed.txt",
        {"req": req, "link": _request_link(req), "inbox": _link(reverse("approvals:inbox"))},
        _emails_for_okta_ids(okta_ids),
    )


def _requester(request_id: int, event: str) -> list[EmailMessage]:
    req = AccessRequest.objects.select_related("item", "requester").get(pk=request_id)
    last = req.decisions.select_related("decider").last()
    return _messages(
        f"[Gatehouse] {req.what}: {req.get_status_display().lower()}",
        "approvals/email/request_update.txt",
        {"req": req, "event": event, "decision": last, "link": _request_link(req)},
        _requester_emails(req),
    )


def _admins_of_failure(request_id: int, _: str) -> list[EmailMessage]:
    req = AccessRequest.objects.select_related("item").get(pk=request_id)
    admin_ids = GroupMembership.objects.filter(
        group__name=settings.GATEHOUSE_ADMIN_GROUP
    ).values_list("user_id", flat=True)
    return _messages(
        f"[Gatehouse] Okta refused request #{req.pk}: {req.what}",
        "approvals/email/admin_failure.txt",
        {"req": req, "link": _request_link(req), "queue": _link(reverse("approvals:operations"))},
        _emails_for_okta_ids(admin_ids),
    )


def _grant_holder(grant_id: int, event: str) -> list[EmailMessage]:
    grant = Grant.objects.select_related("item", "request", "subject").get(pk=grant_id)
    extend = _link(reverse("approvals:grant_extend", args=[grant.pk]))
    subject = (
        f"[Gatehouse] Your access to {grant.item.name} ends soon"
        if event == "reminder"
        else f"[Gatehouse] Your access to {grant.item.name} has ended"
    )
    return _messages(
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


_COMPOSERS: dict[str, Composer] = {
    "requester": _requester,
    "stage_approvers": _stage_approvers,
    "admins_of_failure": _admins_of_failure,
    "grant": _grant_holder,
}
