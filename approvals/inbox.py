"""Sections other apps add to the approvals inbox and its badge (e.g. identity actions waiting
for a second admin), so people decide everything in one place while approvals knows nothing of
those apps: each registers a section when its app is ready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.models import User


@dataclass(frozen=True)
class InboxSection:
    key: str
    title: str
    template: str  # rendered with ``rows`` and ``section``
    count: Callable[[User], int]
    rows: Callable[[User], list[Any]]


_SECTIONS: dict[str, InboxSection] = {}


def inbox_section_register(section: InboxSection) -> None:
    _SECTIONS[section.key] = section


def inbox_sections() -> list[InboxSection]:
    return list(_SECTIONS.values())


def extra_waiting_count(user: User) -> int:
    """What the registered sections hold for this person (one COUNT per section)."""
    return sum(section.count(user) for section in _SECTIONS.values())
