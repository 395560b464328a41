"""Portal roles. Admin, helpdesk and auditor come from Okta group membership (the settings
name the groups), so access to Gatehouse itself is governed in Okta; manager comes from Okta's
``managerId``. Everyone signed in is an employee."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Exists, OuterRef

from okta.models import GroupMembership, OktaUser

if TYPE_CHECKING:
    from accounts.models import User


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


def _role_checks() -> dict[str, Exists]:
    """One EXISTS per role for the Okta person ``pk``, answered by the membership and manager
    indexes."""
    checks: dict[str, Exists] = {
        f"is_{role}": Exists(
            GroupMembership.objects.filter(user_id=OuterRef("pk"), group__name=name)
        )
        for name, role in _group_roles().items()
    }
    checks[f"is_{Role.MANAGER}"] = Exists(OktaUser.objects.filter(manager_id=OuterRef("pk")))
    return checks


def load_account(pk: object) -> User | None:
    """The account with its roles, in one query: how the session's user is loaded, so a page
    asks nothing more to draw its navigation or check a permission."""
    from accounts.queries import account_with_roles

    return account_with_roles(pk, [(name, str(role)) for name, role in _group_roles().items()])


def roles_for(user: User) -> frozenset[Role]:
    """The person's roles, computed once per user object (one query, or none when the account
    came from ``load_account``)."""
    cached: frozenset[Role] | None = getattr(user, "_gatehouse_roles", None)
    if cached is not None:
        return cached
    roles: set[Role] = set()
    if user.is_authenticated and user.okta_id:
        roles.add(Role.EMPLOYEE)
        loaded: dict[Role, Any] = {role: getattr(user, f"role_is_{role}", None) for role in Role}
        loaded.pop(Role.EMPLOYEE)
        if None in loaded.values():
            found = OktaUser.objects.filter(pk=user.okta_id).values(**_role_checks()).first()
            loaded = {Role(k.removeprefix("is_")): v for k, v in (found or {}).items()}
        roles.update(role for role, held in loaded.items() if held)
    result = frozenset(roles)
    user._gatehouse_roles = result  # type: ignore[attr-defined]
    return result


def has_role(user: User, *wanted: Role) -> bool:
    return bool(roles_for(user).intersection(wanted))


# What each role may do, as permission strings checked with ``user.has_perm(...)`` (the auth
# backend, accounts.auth.OktaOIDCBackend, answers from this table; Django's Permission table is
# not used). Employees and managers hold no named permissions: what they may do is decided per
# object by the services (their own requests, their reports).
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.EMPLOYEE: frozenset(),
    Role.MANAGER: frozenset(),
    Role.HELPDESK: frozenset({"okta.view_directory", "identity.ask_as_helpdesk"}),
    Role.AUDITOR: frozenset(
        {
            "audit.view_auditevent",
            "audit.export_auditevent",
            "reviews.view_campaign",
            "identity.view_admin_roles",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "audit.view_auditevent",
            "audit.export_auditevent",
            "reviews.view_campaign",
            "reviews.manage_campaign",
            "okta.manage_connection",
            "okta.view_directory",
            "okta.retry_operation",
            "approvals.manage_catalog",
            "approvals.manage_policies",
            "approvals.view_all_requests",
            "approvals.manage_grants",
            "api.manage_service_tokens",
            "approvals.retry_fulfilment",
            "identity.ask_as_admin",
            "identity.view_all_actions",
            "identity.manage_directory",
            "identity.run_bulk",
            "identity.manage_policies",
            "identity.view_admin_roles",
        }
    ),
}


def permissions_for(user: User) -> frozenset[str]:
    """Every permission string the person's roles grant."""
    granted: set[str] = set()
    for role in roles_for(user):
        granted.update(ROLE_PERMISSIONS[role])
    return frozenset(granted)
