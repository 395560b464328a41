"""Celery entry points for access reviews: thin, they take ids and call a service."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from core.notes import retry_delay
from reviews import notifications, services

logger = logging.getLogger(__name__)


@shared_task(name="reviews.operation_finished")
def operation_finished(operation_id: int) -> None:
    """Called by okta's operation runner once a revocation's operation is final."""
    services.review_operation_finished(operation_id=operation_id)


@shared_task(name="reviews.run_due")
def run_due() -> int:
    """Beat: start campaigns whose start has come, remind reviewers before the due date, end
    campaigns past it, and finish revocations whose outbox callback was lost."""
    return (
        services.campaigns_run_due()
        + services.campaigns_remind()
        + services.review_items_reconcile()
    )


@shared_task(name="reviews.send_notifications", bind=True, max_retries=8)
def send_notifications(self: Task, notes: list[list[Any]]) -> int:
    """Send the reviewer emails a committed change asked for; refused ones are tried again
    with the same backoff as every email task (core/notes.py), then given up and logged."""
    failed = notifications.notes_send(notes)
    if failed:
        if self.request.retries >= self.max_retries:
            logger.error("gave up sending %d reviewer email(s): %r", len(failed), failed)
        else:
            raise self.retry(args=[failed], countdown=retry_delay(self.request.retries))
    return len(notes) - len(failed)
