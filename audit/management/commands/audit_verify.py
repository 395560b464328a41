"""Check the audit trail's hash chain from the first event to the last; exit 1 on a break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import chain_walk
from audit.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows fetched at a time")
        parser.add_argument(
            "--progress", action="store_true", help="print a line every --chunk-size events"
        )
        parser.add_argument(
            "--expect-hash",
            default="",
            help="a head hash printed by an earlier run: fail if that event is no longer in the "
            "chain (events were cut from the end)",
        )

    def handle(
        self, *args: Any, chunk_size: int, progress: bool, expect_hash: str, **options: Any
    ) -> None:
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        report = None
        for report in chain_walk(chunk_size=chunk_size):
            if progress and report.ok:
                self.stderr.write(f"{report.checked} events verified")
        assert report is not None  # chain_walk always ends with a final report
        if not report.ok:
            raise CommandError(
                f"Audit trail broken at event {report.broken_id}: {report.problem}. "
                f"{report.checked} events before it are intact.",
                returncode=1,
            )
        # The walk proved every event is chained, so an event with this hash is in the chain.
        if expect_hash and not AuditEvent.objects.filter(hash=expect_hash.strip()).exists():
            raise CommandError(
                f"Audit trail cut short: no event has the expected hash {expect_hash.strip()}; "
                f"the chain now ends at event {report.head_id}.",
                returncode=1,
            )
        if report.head_id is None:
            self.stdout.write("Audit trail is empty: nothing to verify.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail intact: {report.checked} events verified. "
                f"Head: event {report.head_id}, hash {report.head_hash}."
            )
        )
        self.stdout.write(
            "Keep the head hash somewhere else (a ticket, a log): "
            "events removed from the end of the trail can only be detected against it."
        )
