"""A person's Okta status as a badge: on the directory list, person pages and "my access".

A tag rather than an included template: the directory shows a page of them, and an include per
row costs a context push and a template lookup each time."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# status: (Bootstrap colour, icon). The status word is always shown: colour is never the only
# signal.
_BADGES = {
    "ACTIVE": ("success", "✔"),
    "SUSPENDED": ("warning", "‖"),
    "LOCKED_OUT": ("danger", "⚠"),
    "DEPROVISIONED": ("dark", "✖"),
}


@register.simple_tag
def user_status(status: str) -> SafeString:
    colour, icon = _BADGES.get(status, ("secondary", "◌"))
    return format_html(
        '<span class="badge text-bg-{}"><span aria-hidden="true">{}</span> {}</span>',
        colour,
        icon,
        status,
    )
