"""Celery entry points for approvals: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from approvals import services


@shared_task(name="approvals.operation_finished")
def operation_finished(operation_id: int) -> None:
    """Called by okta's operation runner once an operation is final."""
    services.operation_finished(operation_id=operation_id)


@shared_task(name="approvals.expire_pending")
def expire_pending() -> int:
    return services.access_requests_expire()


@shared_task(name="approvals.revoke_due_grants")
def revoke_due_grants() -> int:
    return services.grants_revoke_due()


@shared_task(name="approvals.remind_expiring")
def remind_expiring() -> int:
    return services.grants_remind_expiring()


@shared_task(name="approvals.reconcile_fulfilment")
def reconcile_fulfilment() -> int:
    """Beat: finish requests and grant removals whose operation callback was lost."""
    return services.access_requests_reconcile()
