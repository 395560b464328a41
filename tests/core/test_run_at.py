"""``--at`` of the run_due commands: one parser, shared by approvals and reviews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management.base import CommandError

from core.run_at import parse_at

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "later"),
    [
        ("+31d", timedelta(days=31)),
        (" +12h ", timedelta(hours=12)),
        ("+90m", timedelta(minutes=90)),
        ("+0d", timedelta()),
    ],
)
def test_parse_at_offset_counts_from_now(text: str, later: timedelta) -> None:
    assert parse_at(text, NOW) == NOW + later


def test_parse_at_iso_without_a_zone_is_utc() -> None:
    assert parse_at("2026-12-31T09:00", NOW) == datetime(2026, 12, 31, 9, 0, tzinfo=UTC)


def test_parse_at_iso_keeps_its_zone() -> None:
    at = parse_at("2026-12-31T09:00+14:00", NOW)
    assert at.utcoffset() == timedelta(hours=14)
    assert at == datetime(2026, 12, 30, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["31d", "+31w", "tomorrow", "+123456d", ""])
def test_parse_at_bad_input_says_what_is_accepted(text: str) -> None:
    with pytest.raises(CommandError, match=r"neither an offset such as \+31d.*Nothing was run"):
        parse_at(text, NOW)


@pytest.mark.parametrize("command", ["approvals_run_due", "reviews_run_due"])
def test_run_due_commands_refuse_a_bad_at(command: str, db: None) -> None:
    from django.core.management import call_command

    with pytest.raises(CommandError, match="Nothing was run"):
        call_command(command, "--at", "next week")
