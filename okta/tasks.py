"""Celery entry points of okta: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from okta import operations


@shared_task(name="okta.operation_run")
def operation_run(operation_id: int) -> None:
    """Claim and run one outbox operation (a no-op if someone else has it or it is done)."""
    operations.operation_execute(operation_id)


@shared_task(name="okta.operations_reap")
def operations_reap() -> int:
    """Re-queue operations left pending or running past their deadline."""
    return operations.operations_reap()
