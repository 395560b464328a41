"""Emails a change asks for, sent by a Celery task once the change has committed.

A service says whom to tell with notes, small lists such as ``("reviewers", 7, "started")``
(kind, object id, detail), and ``notes_send_after_commit("app.send_notifications", *notes)``:
after commit one task carries every note of the transaction (a bulk decision of a hundred items
is one task), so a slow or unreachable mail server never holds up the change, and a rolled-back
change sends nothing. The task calls ``notes_send`` with its app's composers (kind → the
messages of one note) and tries the notes the mail server refused again after ``retry_delay``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMessage, mailers
from django.db import transaction

from core.dispatch import task_send

logger = logging.getLogger(__name__)

# What to tell and about what: (kind, id, detail); a list once it has been through Celery's JSON.
Note = Sequence[Any]
# The messages of one note, from its id and detail; ObjectDoesNotExist drops the note.
Composer = Callable[[Any, Any], list[EmailMessage]]

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def notes_send_after_commit(task_name: str, *notes: Note) -> None:
    """Send one ``task_name`` task carrying ``notes`` when the transaction commits (nothing on
    rollback, nothing without notes)."""
    if notes:
        # robust: a broker that is down must not turn a committed change into an error page.
        transaction.on_commit(partial(task_send, task_name, [list(n) for n in notes]), robust=True)


def retry_delay(retries: int) -> int:
    """Seconds before the next try of notes the mail server refused: 30 s, doubling, ≤ 1 h."""
    return int(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**retries))


def notes_send(notes: Iterable[Note], composers: Mapping[str, Composer]) -> list[Note]:
    """Send the emails of ``notes`` over one mail connection; returns the notes whose sending
    failed (to try again later). A note about something gone from the database is dropped."""
    notes = list(notes)
    failed: list[Note] = []
    opened = False
    try:
        with mailers.default as mailer:
            opened = True
            for note in notes:
                kind, object_id, detail = note
                try:
                    messages = composers[kind](object_id, detail)
                except ObjectDoesNotExist:
                    logger.warning("no %s email: #%s no longer exists", kind, object_id)
                    continue
                try:
                    mailer.send_messages(messages)
                except (smtplib.SMTPException, OSError):
                    logger.exception("could not send the %s email about #%s", kind, object_id)
                    failed.append(note)
    except (smtplib.SMTPException, OSError):
        logger.exception("could not open or close the mail connection")
        if not opened:
            return notes
    return failed
