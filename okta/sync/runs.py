"""Sync runs: starting one (only one runs at a time), its heartbeat, reaping abandoned ones,
finishing it, and carrying it out.

Only one sync runs at a time: a ``SyncRun`` row in status RUNNING is unique (a partial unique
index), so starting a second one fails in the database, whatever process or machine tries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from okta.actors import MANAGE_CONNECTION, SystemActor, actor_require
from okta.client import OktaError
from okta.models import SyncKind, SyncRun, SyncStatus

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(minutes=10)


class SyncAlreadyRunningError(Exception):
    def __init__(self, run: SyncRun | None) -> None:
        self.run = run
        super().__init__("A sync is already running." if run is None else f"{run} is running.")


# --- starting, tracking and finishing runs ------------------------------------------------


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return str(getattr(actor, "username", "") or actor)


def _reap_stale_runs() -> None:
    """A run whose process died keeps status RUNNING; after STALE_AFTER without a heartbeat it
    is marked failed so the next sync can start."""
    cutoff = timezone.now() - STALE_AFTER
    SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__lt=cutoff).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        message="Abandoned: the process running it stopped sending heartbeats.",
    )


def sync_run_start(*, actor: Any, kind: str) -> SyncRun:
    """Record a RUNNING sync, or raise SyncAlreadyRunningError if one is running.
    PermissionDenied unless ``actor`` may manage the connection (or is a SystemActor)."""
    actor_require(actor, MANAGE_CONNECTION)
    _reap_stale_runs()
    now = timezone.now()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                kind=kind,
                status=SyncStatus.RUNNING,
                triggered_by=actor_label(actor),
                started_at=now,
                heartbeat_at=now,
                phase="starting",
            )
            audit_record(
                action="okta.sync.started",
                actor=actor,
                target_type="sync_run",
                target_id=str(run.pk),
                target_label=f"{kind} sync",
                detail={"kind": kind},
            )
    except IntegrityError:
        raise SyncAlreadyRunningError(
            SyncRun.objects.filter(status=SyncStatus.RUNNING).first()
        ) from None
    return run


def run_finish(run: SyncRun, *, status: str, message: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.message = message
    with transaction.atomic():
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "message",
                "counts",
                "errors",
                "done",
                "total_estimate",
                "phase",
            ]
        )
        audit_record(
            action="okta.sync.finished",
            actor="system",
            target_type="sync_run",
            target_id=str(run.pk),
            target_label=f"{run.kind} sync",
            outcome="success" if status == SyncStatus.SUCCEEDED else "failure",
            detail={
                "kind": run.kind,
                "status": status,
                "counts": run.counts,
                "errors": run.errors[:20],
                "seconds": round((run.finished_at - run.started_at).total_seconds(), 1),
            },
        )


class Progress:
    """Counts per object type, flushed to the SyncRun row every few seconds."""

    def __init__(self, run: SyncRun, on_progress: Callable[[SyncRun], None] | None) -> None:
        self.run = run
        self.on_progress = on_progress
        self._flushed = 0.0

    def phase(self, name: str) -> None:
        self.run.phase = name
        self.flush(force=True)

    def add(self, kind: str, n: int) -> None:
        self.run.counts[kind] = self.run.counts.get(kind, 0) + n
        self.run.done += n
        self.run.total_estimate = max(self.run.total_estimate, self.run.done)
        self.flush()

    def error(self, message: str) -> None:
        log.warning("sync %s: %s", self.run.pk, message)
        self.run.errors.append(message)

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._flushed < HEARTBEAT_SECONDS:
            return
        self._flushed = now
        SyncRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(),
            phase=self.run.phase,
            done=self.run.done,
            total_estimate=self.run.total_estimate,
            counts=self.run.counts,
            errors=self.run.errors,
        )
        if self.on_progress is not None:
            self.on_progress(self.run)


# --- entry points for tasks and the command ------------------------------------------------


def sync_run_execute(
    *, run_id: int, on_progress: Callable[[SyncRun], None] | None = None
) -> SyncRun:
    """Carry out a RUNNING run recorded by sync_run_start (a no-op for a finished one)."""
    # full and incremental report through this module's Progress: imported here, not at the top.
    from okta.connection import active_client
    from okta.sync.full import sync_full
    from okta.sync.incremental import sync_incremental

    run = SyncRun.objects.get(pk=run_id)
    if not run.is_running:
        return run
    try:
        client = active_client()
    except OktaError as exc:
        run.errors.append(exc.message)
        run_finish(run, status=SyncStatus.FAILED, message=exc.message)
        return run
    with client:
        if run.kind == SyncKind.FULL:
            return sync_full(run=run, client=client, on_progress=on_progress)
        return sync_incremental(run=run, client=client, on_progress=on_progress)


def sync_scheduled(*, kind: str) -> int | None:
    """What beat runs: start a sync of ``kind`` unless one is running; returns the run id."""
    try:
        run = sync_run_start(actor=SystemActor("schedule"), kind=kind)
    except SyncAlreadyRunningError:
        log.info("scheduled %s sync skipped: a sync is already running", kind)
        return None
    sync_run_execute(run_id=run.pk)
    return run.pk
