"""The outcome badge of an audit event, shared by the list and the detail page.

A tag rather than an included template: the list shows fifty of them, and an include per row
costs a context push and a template lookup each time."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# outcome: (Bootstrap colour, icon). The word is always shown: colour is never the only signal.
_BADGES = {
    "success": ("success", "✔"),
    "failure": ("danger", "✖"),
    "denied": ("warning", "⊘"),
}


@register.simple_tag
def outcome_badge(outcome: str) -> SafeString:
    colour, icon = _BADGES.get(outcome, ("secondary", ""))
    if not icon:
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, outcome)
    return format_html(
        '<span class="badge text-bg-{}"><span aria-hidden="true">{}</span> {}</span>',
        colour,
        icon,
        outcome,
    )
