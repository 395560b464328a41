"""Who acts on okta's write services, and the one check they make.

A person is a portal user, asked ``actor.has_perm("okta....")`` (accounts/roles.py
ROLE_PERMISSIONS says which roles hold what). Gatehouse acting on its own behalf (beat, a
management command, the demo, a benchmark) names itself with a ``SystemActor``: that is the
only way past the check without a person's permission, so every such caller is visible where
it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

MANAGE_CONNECTION = "okta.manage_connection"
RETRY_OPERATION = "okta.retry_operation"


@dataclass(frozen=True)
class SystemActor:
    """Gatehouse itself, named for the audit trail (``SystemActor("schedule")``)."""

    name: str

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return True

    def __str__(self) -> str:
        return self.name


def actor_require(actor: Any, permission: str) -> None:
    """PermissionDenied unless ``actor`` holds ``permission`` (a string or None holds none)."""
    if not callable(getattr(actor, "has_perm", None)) or not actor.has_perm(permission):
        raise PermissionDenied(f"{actor} may not do this: it needs {permission}.")
