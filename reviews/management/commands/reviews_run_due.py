"""Run the access reviews' time-based duties as if the clock read a given time: for the demo
(watch a campaign end without waiting for its due date) and for checking what is due."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from core.run_at import at_argument_add, parse_at
from reviews import services


class Command(BaseCommand):
    help = (
        "Start scheduled access review campaigns whose start has come, remind the reviewers of "
        "campaigns due within three days, and end those past their due date (undecided items "
        "follow each campaign's end rule), as if the clock read --at."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        at_argument_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_at(options["at"], timezone.now())
        reminded = services.campaigns_remind(now=at)
        moved = 0
        while done := services.campaigns_run_due(now=at):
            moved += done
        self.stdout.write(
            f"As of {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {reminded} campaign(s) reminded, "
            f"{moved} started or ended (revocations are sent to Okta by a worker)."
        )
