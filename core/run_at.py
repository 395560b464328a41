"""``--at`` of the ``*_run_due`` commands: run time-based duties as if the clock read a given
time (the demo watches a grant expire or a campaign end without waiting for it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

OFFSET = re.compile(r"^\+(\d{1,5})([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def at_argument_add(parser: CommandParser) -> None:
    """The command's ``--at`` option (default: now)."""
    parser.add_argument(
        "--at",
        default="+0d",
        help="+31d, +12h, +90m from now, or an ISO date-time such as 2026-12-31T09:00 "
        "(default: now)",
    )


def parse_at(text: str, now: datetime) -> datetime:
    """``+31d`` / ``+12h`` / ``+90m`` from ``now``, or an ISO 8601 date-time (UTC unless it
    says otherwise). Anything else is a ``CommandError`` saying what is accepted."""
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
