"""Celery entry points for identity: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from identity import services


@shared_task(name="identity.operation_finished")
def operation_finished(operation_id: int) -> None:
    """Called by okta's operation runner once a user.create operation is final."""
    services.operation_finished(operation_id=operation_id)
