"""Role-based permissions answered by the auth backend (accounts.roles.ROLE_PERMISSIONS)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role, load_account, permissions_for, roles_for
from tests.accounts.conftest import group_join, person_make
from tests.world import Cast

pytestmark = pytest.mark.django_db

ADMIN_ONLY = [
    "okta.manage_connection",
    "okta.retry_operation",
    "approvals.manage_catalog",
    "approvals.manage_policies",
    "approvals.view_all_requests",
    "approvals.manage_grants",
    "approvals.retry_fulfilment",
    "api.manage_service_tokens",
    "reviews.manage_campaign",
    "identity.ask_as_admin",
    "identity.view_all_actions",
    "identity.manage_directory",
    "identity.run_bulk",
    "identity.manage_policies",
]
AUDITOR = [
    "audit.view_auditevent",
    "audit.export_auditevent",
    "reviews.view_campaign",
    "identity.view_admin_roles",
]


def test_role_permissions_table_is_what_the_portal_promises() -> None:
    assert ROLE_PERMISSIONS[Role.HELPDESK] == {"okta.view_directory", "identity.ask_as_helpdesk"}
    assert ROLE_PERMISSIONS[Role.AUDITOR] == set(AUDITOR)
    assert ROLE_PERMISSIONS[Role.ADMIN] == {*AUDITOR, *ADMIN_ONLY, "okta.view_directory"}
    assert ROLE_PERMISSIONS[Role.EMPLOYEE] == frozenset()
    assert ROLE_PERMISSIONS[Role.MANAGER] == frozenset()


def test_has_perm_admin_holds_every_portal_permission(cast: Cast) -> None:
    admin = cast.u["sam"]
    for perm in [*ADMIN_ONLY, *AUDITOR, "okta.view_directory"]:
        assert admin.has_perm(perm), perm


def test_has_perm_auditor_reads_and_exports_audit_only(cast: Cast) -> None:
    auditor = cast.u["tessa"]
    assert auditor.has_perm("audit.view_auditevent")
    assert auditor.has_perm("audit.export_auditevent")
    assert not auditor.has_perm("okta.view_directory")
    assert not any(auditor.has_perm(perm) for perm in ADMIN_ONLY)


def test_has_perm_helpdesk_views_directory_only(cast: Cast) -> None:
    agent = cast.u["jordan"]
    assert agent.has_perm("okta.view_directory")
    assert not any(agent.has_perm(perm) for perm in [*ADMIN_ONLY, *AUDITOR])


def test_has_perm_employee_and_manager_hold_none(cast: Cast) -> None:
    manager = cast.u["priya"]  # maya reports to her
    assert Role.MANAGER in roles_for(manager)
    assert permissions_for(manager) == frozenset()
    for perm in [*ADMIN_ONLY, *AUDITOR, "okta.view_directory"]:
        assert not manager.has_perm(perm), perm


def test_has_perm_inactive_account_holds_none(cast: Cast) -> None:
    admin = cast.u["sam"]
    admin.is_active = False
    admin.save()
    admin = User.objects.get(pk=admin.pk)
    assert not admin.has_perm("okta.manage_connection")


def test_has_perm_unlinked_account_holds_none() -> None:
    local = User.objects.create_user("local-only")
    assert not local.has_perm("audit.view_auditevent")


def test_has_perm_other_group_grants_nothing(cast: Cast) -> None:
    group_join(cast.maya, "Engineering")
    person = cast.u["maya"]
    assert not person.has_perm("okta.view_directory")


def test_has_module_perms_follows_roles(cast: Cast) -> None:
    auditor = cast.u["tessa"]
    assert auditor.has_module_perms("audit")
    assert not auditor.has_module_perms("okta")
    assert not auditor.has_module_perms("approvals")


def test_perms_in_templates_follow_roles(rf: Any, cast: Cast) -> None:
    from django.contrib.auth.context_processors import PermWrapper

    agent = cast.u["jordan"]
    perms = PermWrapper(agent)
    assert "okta.view_directory" in perms
    assert "audit" not in perms
    assert perms["okta"]["view_directory"]


def test_roles_for_asks_the_database_once_for_every_role(
    django_assert_num_queries: Any, cast: Cast
) -> None:
    # The roles are read on every page (navigation), so all of them come from one query.
    group_join(cast.sam, "Gatehouse Auditors")  # an admin in "Gatehouse Admins" already
    person_make("reports.to.sam@acme.com", manager_id=cast.sam.id)
    account = User.objects.get(pk=cast.u["sam"].pk)
    with django_assert_num_queries(1):
        roles = roles_for(account)
    assert roles == {Role.EMPLOYEE, Role.ADMIN, Role.AUDITOR, Role.MANAGER}
    with django_assert_num_queries(0):
        roles_for(account)


def test_has_perm_ignores_djangos_permission_table(
    django_assert_num_queries: Any, cast: Cast
) -> None:
    from django.contrib.auth.models import Permission

    employee = cast.u["maya"]
    employee.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    employee = User.objects.get(pk=employee.pk)
    # One query (the roles), read once for every check the navigation makes.
    with django_assert_num_queries(1):
        assert not employee.has_perm("audit.view_auditevent")
        assert not employee.has_module_perms("audit")


@pytest.mark.parametrize(
    ("who", "role"),
    [
        ("sam", Role.ADMIN),  # in "Gatehouse Admins"
        ("jordan", Role.HELPDESK),  # in "Gatehouse Helpdesk"
        ("tessa", Role.AUDITOR),  # in "Gatehouse Auditors"
    ],
)
def test_load_account_reads_each_group_role_in_the_same_query(
    cast: Cast, who: str, role: Role, django_assert_num_queries: Any
) -> None:
    # The session's user comes from load_account (hand-written SQL): each group gives its own
    # role and no other, and the roles need no second query.
    account = cast.u[who]
    with django_assert_num_queries(1):
        loaded = load_account(account.pk)
        assert loaded is not None
        assert roles_for(loaded) == {Role.EMPLOYEE, role}
    assert loaded.username == account.username and loaded.okta_id == account.okta_id


def test_load_account_reads_manager_and_plain_employee(cast: Cast) -> None:
    manager = load_account(cast.u["priya"].pk)
    report = load_account(cast.u["maya"].pk)
    assert manager is not None and roles_for(manager) == {Role.EMPLOYEE, Role.MANAGER}
    assert report is not None and roles_for(report) == {Role.EMPLOYEE}


def test_load_account_of_no_such_account_is_none() -> None:
    assert load_account(987654) is None


def test_session_user_comes_with_roles_in_one_query(
    client: Any, django_assert_num_queries: Any, cast: Cast
) -> None:
    from django.contrib.auth import get_user

    account = cast.u["tessa"]
    client.force_login(account)
    session = client.session
    assert session.keys()  # read the session first: only the user's loading is counted
    request = type("Request", (), {"session": session})()
    with django_assert_num_queries(1):
        user = get_user(request)
        assert user.pk == account.pk
        assert user.has_perm("audit.view_auditevent")
        assert not user.has_perm("okta.view_directory")
