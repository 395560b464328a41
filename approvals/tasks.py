"""Celery entry points for approvals: thin, they take ids and call a service."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from approvals import notifications
from approvals.services import grants, outcomes, requests
from core.notes import retry_delay

logger = logging.getLogger(__name__)


@shared_task(name="approvals.operation_finished")
def operation_finished(operation_id: int) -> None:
    """Called by okta's operation runner once an operation is final."""
    outcomes.operation_finished(operation_id=operation_id)


@shared_task(name="approvals.expire_pending")
def expire_pending() -> int:
    return requests.access_requests_expire()


@shared_task(name="approvals.revoke_due_grants")
def revoke_due_grants() -> int:
    return grants.grants_revoke_due()


@shared_task(name="approvals.remind_expiring")
def remind_expiring() -> int:
    return grants.grants_remind_expiring()


@shared_task(name="approvals.reconcile_fulfilment")
def reconcile_fulfilment() -> int:
    """Beat: finish requests and grant removals whose operation callback was lost."""
    return outcomes.access_requests_reconcile()


@shared_task(name="approvals.send_notifications", bind=True, max_retries=8)
def send_notifications(self: Task, notes: list[list[Any]]) -> int:
    """Send the emails a committed change asked for; notes the mail server refused are tried
    again alone, with backoff (30 s doubling to an hour, eight times), then given up and logged.
    Returns how many notes were sent or dropped."""
    failed = notifications.notes_send(notes)
    if failed:
        if self.request.retries >= self.max_retries:
            logger.error("gave up sending %d notification(s): %r", len(failed), failed)
        else:
            raise self.retry(args=[failed], countdown=retry_delay(self.request.retries))
    return len(notes) - len(failed)
