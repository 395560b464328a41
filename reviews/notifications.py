"""Emails to reviewers (a campaign started; its due date is near), sent by the
``reviews.send_notifications`` task once the change has committed (core/notes.py: a slow mail
server never holds up the change, a rolled-back change sends nothing). Addresses come from the
Okta mirror."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse

from core import notes as core_notes
from core.notes import Note
from okta.models import GroupMembership, OktaUser
from reviews.models import Campaign, Decision

TASK = "reviews.send_notifications"


def to_reviewers(campaign_id: int, event: str) -> Note:
    """``event``: started, reminder. Every reviewer with undecided items in the campaign."""
    return ("reviewers", campaign_id, event)


def send_after_commit(*notes: Note) -> None:
    """One ``reviews.send_notifications`` task with these notes once the transaction commits."""
    core_notes.notes_send_after_commit(TASK, *notes)


def _reviewer_messages(campaign_id: int, event: str) -> list[EmailMessage]:
    campaign = Campaign.objects.get(pk=campaign_id)
    waiting = dict(
        campaign.items.filter(decision=Decision.UNDECIDED)
        .values_list("reviewer_okta_id")
        .annotate(n=Count("id"))
        .values_list("reviewer_okta_id", "n")
    )
    # Items nobody else can review are the admins': each admin hears of them.
    admins = list(
        GroupMembership.objects.filter(group__name=settings.GATEHOUSE_ADMIN_GROUP).values_list(
            "user_id", flat=True
        )
    )
    counts: dict[str, int] = {}
    for okta_id, n in waiting.items():
        for who in admins if not okta_id else [okta_id]:
            counts[who] = counts.get(who, 0) + n
    emails = dict(OktaUser.objects.filter(pk__in=list(counts)).values_list("pk", "email"))
    subject = (
        f"[Gatehouse] Access review: {campaign.name}"
        if event == "started"
        else f"[Gatehouse] Access review due soon: {campaign.name}"
    )
    link = f"{settings.SITE_URL}{reverse('reviews:mine')}"
    messages = []
    for okta_id, n in sorted(counts.items()):
        if not emails.get(okta_id):
            continue
        body = render_to_string(
            "reviews/email/reviewer.txt",
            {"campaign": campaign, "event": event, "count": n, "link": link},
        )
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [emails[okta_id]]))
    return messages


def notes_send(notes: Iterable[Note]) -> list[Note]:
    """Send the emails of ``notes`` over one connection; returns the notes that failed."""
    return core_notes.notes_send(notes, {"reviewers": _reviewer_messages})
