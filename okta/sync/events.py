"""Applying Okta events to the mirror: System Log entries (incremental sync) and event-hook
deliveries (okta.hooks) share a shape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from okta.client import OktaError
from okta.models import AppAssignment, GroupMembership, OktaGroup, OktaUser
from okta.sync.bulk import (
    ASSIGNMENTS,
    MEMBERSHIPS,
    delete_apps,
    delete_groups,
    delete_users,
    upsert_groups,
    upsert_links,
    upsert_users,
)
from okta.sync.rows import group_from_typed, user_from_typed
from okta.sync.scope import Scope

if TYPE_CHECKING:
    from okta.client import OktaClient

# The SyncCursor row saying where the next incremental sync reads the System Log from.
LOG_CURSOR = "system_log_since"
# Okta's clocks and ours differ a little; incremental filters look back this much further.
CLOCK_SKEW = timedelta(seconds=60)

LOG_EVENT_TYPES = (
    "group.user_membership.add",
    "group.user_membership.remove",
    "application.user_membership.add",
    "application.user_membership.remove",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "application.lifecycle.delete",
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.reactivate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
    "user.account.update_profile",
    "user.account.lock",
    "user.account.unlock_by_admin",
)


def event_targets(event: dict[str, Any], *types: str) -> list[str]:
    found = []
    for target in event.get("target") or []:
        if isinstance(target, dict) and target.get("type") in types and target.get("id"):
            found.append(str(target["id"]))
    return found


@dataclass
class Refresh:
    """Objects whose events say "changed" without saying how: re-read them from Okta."""

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)


def events_apply_local(events: Iterable[dict[str, Any]]) -> Refresh:
    """Apply the database side of ``events`` in ``published`` order; returns what must be
    re-read from Okta. Call it inside a transaction; it makes no HTTP calls.

    Membership and assignment events are gathered and written a batch at a time (the last
    event for a pair decides it); any other event writes the batch first, so order holds."""
    refresh = Refresh()
    links = _LinkChanges(timezone.now())
    ordered = sorted(events, key=lambda e: str(e.get("published") or ""))
    for event in ordered:
        kind = str(event.get("eventType") or "")
        users = event_targets(event, "User")
        groups = event_targets(event, "UserGroup")
        if kind in ("group.user_membership.add", "group.user_membership.remove"):
            if users and groups:
                links.memberships[(groups[0], users[0])] = kind.endswith(".add")
            continue
        if kind in ("application.user_membership.add", "application.user_membership.remove"):
            apps = event_targets(event, "AppInstance")
            if users and apps:
                links.assignments[(apps[0], users[0])] = kind.endswith(".add")
            continue
        links.flush()
        if kind == "group.lifecycle.delete":
            delete_groups(groups)
            refresh.groups.difference_update(groups)
        elif kind in ("group.lifecycle.create", "group.profile.update"):
            refresh.groups.update(groups)
        elif kind == "application.lifecycle.delete":
            delete_apps(event_targets(event, "AppInstance"))
        elif kind == "user.lifecycle.delete.completed":
            delete_users(users)
            refresh.users.difference_update(users)
        elif kind.startswith(("user.lifecycle.", "user.account.")):
            refresh.users.update(users)
    links.flush()
    return refresh


@dataclass
class _LinkChanges:
    """Membership and assignment changes waiting to be written: pair -> present afterwards."""

    stamp: datetime
    memberships: dict[tuple[str, str], bool] = field(default_factory=dict)
    assignments: dict[tuple[str, str], bool] = field(default_factory=dict)

    def flush(self) -> None:
        if self.memberships:
            added = [pair for pair, present in self.memberships.items() if present]
            mirrored = set(
                OktaGroup.objects.filter(id__in={g for g, _ in added}).values_list("id", flat=True)
            )
            upsert_links(MEMBERSHIPS, [(g, u) for g, u in added if g in mirrored], self.stamp)
            _delete_pairs(GroupMembership, "group_id", self.memberships)
            self.memberships = {}
        if self.assignments:
            added = [pair for pair, present in self.assignments.items() if present]
            upsert_links(ASSIGNMENTS, [(a, u, "USER", "") for a, u in added], self.stamp)
            _delete_pairs(AppAssignment, "app_id", self.assignments)
            self.assignments = {}


def _delete_pairs(
    model: type[models.Model], owner: str, changes: dict[tuple[str, str], bool]
) -> None:
    """Delete the (owner, user) rows whose last change was a removal, 200 pairs a statement."""
    removed = [pair for pair, present in changes.items() if not present]
    for start in range(0, len(removed), 200):
        match = models.Q()
        for owner_id, user_id in removed[start : start + 200]:
            match |= models.Q(**{owner: owner_id, "user_id": user_id})
        model._default_manager.filter(match).delete()


def mirror_refresh(*, client: OktaClient, refresh: Refresh, scope: Scope | None = None) -> None:
    """Re-read users and groups from Okta (no transaction open) and upsert or remove them."""
    scope = scope or Scope.load()
    fresh: list[OktaUser] = []
    gone: list[str] = []
    for user_id in sorted(refresh.users):
        found = client.find_user(user_id)
        if found is None:
            gone.append(user_id)
            continue
        user = user_from_typed(found)
        if scope.wants_user(user):
            fresh.append(user)
        else:
            gone.append(user.id)
    upsert_users(fresh)
    delete_users(gone)
    groups: list[OktaGroup] = []
    gone_groups: list[str] = []
    for group_id in sorted(refresh.groups):
        try:
            typed = client.get_group(group_id)
        except OktaError as exc:
            if exc.is_not_found:
                gone_groups.append(group_id)
                continue
            raise
        group = group_from_typed(typed)
        if scope.wants_group(group):
            groups.append(group)
        else:
            gone_groups.append(group.id)
    upsert_groups(groups)
    delete_groups(gone_groups)
