"""Run approvals' time-based duties as if the clock read a given time: for the demo (watch a
30-day grant end without waiting a month) and for checking what is due."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from approvals import services

OFFSET = re.compile(r"^\+(\d{1,5})([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_at(text: str, now: datetime) -> datetime:
    """``+31d`` / ``+12h`` / ``+90m`` from ``now``, or an ISO 8601 date-time (UTC unless it
    says otherwise)."""
    text = text.strip()
    offset = OFFSET.match(text)
    if offset:
        return now + timedelta(**{UNITS[offset[2]]: int(offset[1])})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--at {text!r} is neither an offset such as +31d, +12h or +90m nor an ISO date-time "
            "such as 2026-12-31T09:00 (UTC unless it names a zone). Nothing was run."
        ) from None
    return at if timezone.is_aware(at) else at.replace(tzinfo=UTC)


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
        parser.add_argument(
            "--at",
            default="+0d",
            help="+31d, +12h, +90m from now, or an ISO date-time such as 2026-12-31T09:00 "
            "(default: now)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_at(options["at"], timezone.now())
        expired = _until_done(services.access_requests_expire, at)
        reminded = _until_done(services.grants_remind_expiring, at)
        revoking = _until_done(services.grants_revoke_due, at)
        self.stdout.write(
            f"As of {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {expired} undecided request(s) expired, "
            f"{reminded} expiry reminder(s) sent, {revoking} grant removal(s) sent to Okta "
            "(a worker carries them out)."
        )
