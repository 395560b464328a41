"""Sections other apps add to the approvals inbox and its badge (e.g. identity actions waiting
for a second admin), so people decide everything in one place while approvals knows nothing of
those apps: each registers a section when its app is ready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from approvals.models import AccessRequest
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


@dataclass(frozen=True)
class Waiting:
    requests: int  # access requests at a stage this person decides
    others: int  # rows of the registered sections

    @property
    def total(self) -> int:
        return self.requests + self.others


def waiting(request: HttpRequest) -> Waiting:
    """What waits for the signed-in person, counted once per HTTP request: the nav badge and the
    inbox page both show it."""
    found: Waiting | None = getattr(request, "_gatehouse_waiting", None)
    if found is not None:
        return found
    user = request.user
    okta_id = getattr(user, "okta_id", None)
    if not user.is_authenticated or not okta_id:
        found = Waiting(requests=0, others=0)
    else:
        assert isinstance(user, User)
        found = Waiting(
            requests=AccessRequest.objects.waiting_for(okta_id).count(),
            others=extra_waiting_count(user),
        )
    request._gatehouse_waiting = found  # type: ignore[attr-defined]
    return found
