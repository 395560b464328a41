"""Celery entry points of the audit app: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from audit.services import verification_run


@shared_task(name="audit.verify_chain", acks_late=True)
def verify_chain(verification_id: int) -> None:
    verification_run(verification_id=verification_id)
