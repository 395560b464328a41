"""Navigation helpers: mark the link of the section the person is in."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import Resolver404, resolve
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _matches(view_name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*"):
            if view_name.startswith(pattern[:-1]):
                return True
        elif view_name == pattern:
            return True
    return False


def _view_name(request: Any) -> str:
    # An HTMX fragment (the inbox badge) is rendered for the page the person is looking at.
    htmx = getattr(request, "htmx", None)
    page_path = htmx.current_url_abs_path if htmx else None
    if page_path:
        try:
            return resolve(page_path.split("?", 1)[0]).view_name
        except Resolver404:
            return ""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else ""


@register.simple_tag(takes_context=True)
def nav_current(context: dict[str, Any], *patterns: str) -> SafeString:
    """``aria-current="page"`` when the current view is one of ``patterns`` (a trailing ``*``
    matches a prefix, e.g. ``"okta:user_*"``); screen readers announce it and the CSS shows it."""
    # A view may name the section itself (a request page reached from the inbox).
    view_name = context.get("nav_section") or _view_name(context.get("request"))
    if not view_name or not _matches(view_name, patterns):
        return mark_safe("")
    return mark_safe(' aria-current="page"')
