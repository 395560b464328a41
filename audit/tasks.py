"""Celery entry points of the audit app: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from audit.services import verification_run
from audit.streaming import stream_deliver_all
from core.dispatch import task_send


@shared_task(name="audit.verify_chain", acks_late=True)
def verify_chain(verification_id: int) -> None:
    verification_run(verification_id=verification_id)


@shared_task(name="audit.stream_deliver", acks_late=True)
def stream_deliver() -> None:
    """One delivery pass to every configured sink; again at once while events remain."""
    if any(result.more for result in stream_deliver_all()):
        task_send("audit.stream_deliver")
