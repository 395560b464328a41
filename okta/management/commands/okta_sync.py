"""``python manage.py okta_sync [--full]``: run a sync in this process, with a progress bar."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from okta.actors import SystemActor
from okta.models import SyncKind, SyncRun, SyncStatus
from okta.sync.runs import SyncAlreadyRunningError, sync_run_execute, sync_run_start


class Command(BaseCommand):
    help = "Sync the Okta directory mirror now (incremental unless --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Re-read the whole directory.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = SyncKind.FULL if options["full"] else SyncKind.INCREMENTAL
        try:
            run = sync_run_start(actor=SystemActor("manage.py okta_sync"), kind=kind)
        except SyncAlreadyRunningError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(
            total=run.total_estimate or None,
            unit="obj",
            disable=options["no_progress"],
            file=sys.stderr,
            dynamic_ncols=True,
        )

        def on_progress(current: SyncRun) -> None:
            if current.total_estimate and bar.total != current.total_estimate:
                bar.total = current.total_estimate
            bar.set_description(current.phase)
            bar.update(current.done - bar.n)

        try:
            run = sync_run_execute(run_id=run.pk, on_progress=on_progress)
        finally:
            bar.close()
        counts = ", ".join(f"{k} {v}" for k, v in run.counts.items() if k != "removed")
        removed = run.counts.get("removed") or {}
        self.stdout.write(f"{run.get_kind_display()} sync #{run.pk}: {run.status}. {counts}")
        if removed:
            self.stdout.write("Removed: " + ", ".join(f"{k} {v}" for k, v in removed.items()))
        for error in run.errors[:20]:
            self.stderr.write(f"  error: {error}")
        if run.status == SyncStatus.FAILED:
            raise CommandError(run.message or "Sync failed.")
