"""The list formatting filter gives the same text as Django's date filter it replaces."""

from __future__ import annotations

from datetime import UTC, datetime

from django.template import Context, Template
from django.test import override_settings

from core.templatetags.portal_format import stamp

AT = datetime(2026, 11, 25, 19, 5, 9, tzinfo=UTC)


def test_stamp_matches_the_date_filter_it_replaces() -> None:
    template = Template('{% load portal_format %}{{ at|date:"Y-m-d H:i" }}|{{ at|stamp }}')
    plain, fast = template.render(Context({"at": AT})).split("|")
    assert plain == fast == "2026-11-25 19:05"
    template = Template('{% load portal_format %}{{ at|date:"Y-m-d H:i:s" }}|{{ at|stamp:"s" }}')
    plain, fast = template.render(Context({"at": AT})).split("|")
    assert plain == fast == "2026-11-25 19:05:09"


@override_settings(TIME_ZONE="Europe/Paris")
def test_stamp_shows_the_current_time_zone_like_the_date_filter() -> None:
    template = Template('{% load portal_format %}{{ at|date:"Y-m-d H:i" }}|{{ at|stamp }}')
    plain, fast = template.render(Context({"at": AT})).split("|")
    assert plain == fast == "2026-11-25 20:05"


def test_stamp_of_no_date_is_empty() -> None:
    assert stamp(None) == ""
