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


# --- directory sync and event hooks ------------------------------------------------------------


@shared_task(name="okta.run_sync")
def run_sync(run_id: int) -> None:
    """Carry out a sync run recorded (RUNNING) by the "Sync now" button."""
    from okta.sync.runs import sync_run_execute

    sync_run_execute(run_id=run_id)


@shared_task(name="okta.sync_incremental")
def sync_incremental() -> int | None:
    from okta.sync.runs import sync_scheduled

    return sync_scheduled(kind="incremental")


@shared_task(name="okta.sync_full")
def sync_full() -> int | None:
    from okta.sync.runs import sync_scheduled

    return sync_scheduled(kind="full")


@shared_task(name="okta.apply_hook_events")
def apply_hook_events(event_ids: list[int]) -> int:
    """Apply event-hook deliveries stored by the endpoint (each event once)."""
    from okta.hooks import hook_events_apply

    return hook_events_apply(event_ids=event_ids)


@shared_task(name="okta.hook_events_sweep")
def hook_events_sweep() -> int:
    """Apply stored event-hook events that no queued message applied (beat, every minute)."""
    from okta.hooks import hook_events_sweep as sweep

    return sweep()
