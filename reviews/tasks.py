"""Celery entry points for access reviews: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from reviews import services


@shared_task(name="reviews.operation_finished")
def operation_finished(operation_id: int) -> None:
    """Called by okta's operation runner once a revocation's operation is final."""
    services.review_operation_finished(operation_id=operation_id)


@shared_task(name="reviews.run_due")
def run_due() -> int:
    """Beat: start campaigns whose start has come, end those past their due date, and finish
    revocations whose outbox callback was lost."""
    return services.campaigns_run_due() + services.review_items_reconcile()
