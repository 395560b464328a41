"""Portal roles. Admin, helpdesk and auditor come from Okta group membership (the settings
name the groups), so access to Gatehouse itself is governed in Okta; manager comes from Okta's
``managerId``. Everyone signed in is an employee."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Exists, OuterRef

from okta.models import GroupMembership, OktaUser

if TYPE_CHECKING:
    from portal.models import User


class Role(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    HELPDESK = "helpdesk"
    ADMIN = "admin"
    AUDITOR = "auditor"


def _group_roles() -> dict[str, Role]:
    return {
        settings.GATEHOUSE_ADMIN_GROUP: Role.ADMIN,
        settings.GATEHOUSE_HELPDESK_GROUP: Role.HELPDESK,
        settings.GATEHOUSE_AUDITOR_GROUP: Role.AUDITOR,
    }


def roles_for(user: User) -> frozenset[Role]:
    """The person's roles, computed once per user object (one query: it runs on every page)."""
    cached: frozenset[Role] | None = getattr(user, "_gatehouse_roles", None)
    if cached is not None:
        return cached
    roles: set[Role] = set()
    if user.is_authenticated and user.okta_id:
        roles.add(Role.EMPLOYEE)
        # One EXISTS per role, answered by the membership and manager indexes.
        checks: dict[str, Exists] = {
            f"is_{role}": Exists(
                GroupMembership.objects.filter(user_id=OuterRef("pk"), group__name=name)
            )
            for name, role in _group_roles().items()
        }
        checks[f"is_{Role.MANAGER}"] = Exists(OktaUser.objects.filter(manager_id=OuterRef("pk")))
        found = OktaUser.objects.filter(pk=user.okta_id).values(**checks).first()
        if found is not None:
            roles.update(Role(name.removeprefix("is_")) for name, held in found.items() if held)
    result = frozenset(roles)
    user._gatehouse_roles = result  # type: ignore[attr-defined]
    return result


def has_role(user: User, *wanted: Role) -> bool:
    return bool(roles_for(user).intersection(wanted))


# What each role may do, as permission strings checked with ``user.has_perm(...)`` (the auth
# backend, portal.auth.OktaOIDCBackend, answers from this table; Django's Permission table is
# not used). Employees and managers hold no named permissions: what they may do is decided per
# object by the services (their own requests, their reports).
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.EMPLOYEE: frozenset(),
    Role.MANAGER: frozenset(),
    Role.HELPDESK: frozenset({"okta.view_directory"}),
    Role.AUDITOR: frozenset({"audit.view_auditevent", "audit.export_auditevent"}),
    Role.ADMIN: frozenset(
        {
            "audit.view_auditevent",
            "audit.export_auditevent",
            "okta.manage_connection",
            "okta.view_directory",
            "okta.retry_operation",
            "approvals.manage_catalog",
            "approvals.manage_policies",
        }
    ),
}


def permissions_for(user: User) -> frozenset[str]:
    """Every permission string the person's roles grant."""
    granted: set[str] = set()
    for role in roles_for(user):
        granted.update(ROLE_PERMISSIONS[role])
    return frozenset(granted)
