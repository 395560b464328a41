"""Emails to reviewers (a campaign started; its due date is near), sent by a Celery task once
the change has committed, as approvals' are: a slow mail server never holds up the change, and
a rolled-back change sends nothing. Addresses come from the Okta mirror."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse

from okta.models import GroupMembership, OktaUser
from reviews.models import Campaign, Decision

logger = logging.getLogger(__name__)

# (kind, campaign id, event); a list once it has been through Celery's JSON.
Note = Sequence[Any]


def to_reviewers(campaign_id: int, event: str) -> Note:
    """``event``: started, reminder. Every reviewer with undecided items in the campaign."""
    return ("reviewers", campaign_id, event)


def send_after_commit(*notes: Note) -> None:
    if notes:
        transaction.on_commit(partial(notes_enqueue, [list(n) for n in notes]), robust=True)


def notes_enqueue(notes: list[list[Any]]) -> None:
    from reviews.tasks import send_notifications

    send_notifications.delay(notes)


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
    notes = list(notes)
    failed: list[Note] = []
    opened = False
    try:
        with mailers.default as mailer:
            opened = True
            for note in notes:
                _, campaign_id, event = note
                try:
                    messages = _reviewer_messages(campaign_id, event)
                except ObjectDoesNotExist:
                    logger.warning("no reviewer email: campaign #%s is gone", campaign_id)
                    continue
                try:
                    mailer.send_messages(messages)
                except (smtplib.SMTPException, OSError):
                    logger.exception("could not email the reviewers of campaign #%s", campaign_id)
                    failed.append(note)
    except (smtplib.SMTPException, OSError):
        logger.exception("could not open or close the mail connection")
        if not opened:
            return notes
    return failed
