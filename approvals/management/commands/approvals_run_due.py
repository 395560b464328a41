"""Run approvals' time-based duties as if the clock read a given time: for the demo (watch a
30-day grant end without waiting a month) and for checking what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from approvals.services.grants import grants_remind_expiring, grants_revoke_due
from approvals.services.requests import access_requests_expire
from core.run_at import at_argument_add, parse_at


def _until_done(duty: Callable[..., int], at: datetime) -> int:
    """Each duty handles up to 1,000 rows a call, as beat runs it: call again until it is done."""
    total = 0
    while done := duty(now=at):
        total += done
    return total


class Command(BaseCommand):
    help = (
        "Run the time-based approvals duties (expire undecided requests, remind holders, "
        "remove due grants through Okta operations) as if the clock read --at. Only these "
        "duties see that time; nothing else's clock changes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        at_argument_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_at(options["at"], timezone.now())
        expired = _until_done(access_requests_expire, at)
        reminded = _until_done(grants_remind_expiring, at)
        revoking = _until_done(grants_revoke_due, at)
        self.stdout.write(
            f"As of {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {expired} undecided request(s) expired, "
            f"{reminded} expiry reminder(s) sent, {revoking} grant removal(s) sent to Okta "
            "(a worker carries them out)."
        )
