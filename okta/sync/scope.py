"""Which part of the directory the mirror holds (the admin's sync scope)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.services import audit_record
from okta.actors import MANAGE_CONNECTION, actor_require
from okta.models import OktaGroup, OktaUser, SyncScope
from okta.sync.runs import actor_label


@dataclass
class Scope:
    group_types: frozenset[str] = frozenset()
    group_name_patterns: tuple[str, ...] = ()
    user_statuses: frozenset[str] = frozenset()

    @classmethod
    def load(cls) -> Scope:
        stored = SyncScope.objects.filter(pk=1).first()
        if stored is None:
            return cls()
        return cls(
            group_types=frozenset(stored.group_types or ()),
            group_name_patterns=tuple(stored.group_name_patterns or ()),
            user_statuses=frozenset(stored.user_statuses or ()),
        )

    def wants_user(self, user: OktaUser) -> bool:
        return self.wants_status(user.status)

    def wants_status(self, status: str) -> bool:
        return not self.user_statuses or status in self.user_statuses

    def wants_group(self, group: OktaGroup) -> bool:
        if self.group_types and group.type not in self.group_types:
            return False
        if self.group_name_patterns:
            name = group.name.casefold()
            return any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.group_name_patterns)
        return True

    @property
    def wants_deprovisioned(self) -> bool:
        return "DEPROVISIONED" in self.user_statuses


def sync_scope_update(
    *,
    actor: Any,
    group_types: list[str],
    group_name_patterns: list[str],
    user_statuses: list[str],
) -> SyncScope:
    """Store what the mirror holds; PermissionDenied unless ``actor`` may manage the
    connection."""
    actor_require(actor, MANAGE_CONNECTION)
    with transaction.atomic():
        scope, _ = SyncScope.objects.select_for_update().get_or_create(pk=1)
        scope.group_types = sorted(set(group_types))
        scope.group_name_patterns = [p for p in group_name_patterns if p]
        scope.user_statuses = sorted(set(user_statuses))
        scope.updated_by = actor_label(actor)
        scope.save()
        audit_record(
            action="okta.sync.scope_changed",
            actor=actor,
            target_type="sync_scope",
            target_id="1",
            detail={
                "group_types": scope.group_types,
                "group_name_patterns": scope.group_name_patterns,
                "user_statuses": scope.user_statuses,
            },
        )
    return scope
