"""accounts/queries.py returns what its ORM equivalent returns, on the same data."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from accounts.models import User
from accounts.queries import account_with_roles
from accounts.roles import Role, load_account, roles_for
from tests.accounts.conftest import group_join, person_make
from tests.world import CAST, Cast

pytestmark = pytest.mark.django_db


def _accounts() -> list[User]:
    """The cast (admins, helpdesk, auditor, managers, employees, the stranger), one account with
    every role, one without an Okta person, one whose Okta person is not in the mirror."""
    cast = Cast()
    accounts = [cast.u[who] for who in CAST]
    root = person_make("root.person@acme.com")
    for group in ("Gatehouse Admins", "Gatehouse Helpdesk", "Gatehouse Auditors", "Engineering"):
        group_join(root, group)
    person_make("reports.to.root@acme.com", manager_id=root.id)
    accounts.append(User.objects.create_user(root.login, okta_id=root.id))
    accounts.append(User.objects.create_user("no.okta@acme.com"))
    accounts.append(User.objects.create_user("gone@acme.com", okta_id="00ugone0000000001"))
    return accounts


def test_account_with_roles_matches_the_orm() -> None:
    accounts = _accounts()
    seen: set[frozenset[Role]] = set()
    for account in accounts:
        loaded = load_account(account.pk)
        assert loaded is not None
        orm = User.objects.get(pk=account.pk)  # no role flags: roles_for asks the ORM
        assert not hasattr(orm, "role_is_admin")
        assert model_to_dict(loaded) == model_to_dict(orm)
        assert roles_for(loaded) == roles_for(orm), account.username
        seen.add(roles_for(orm))
    assert {Role.EMPLOYEE, Role.ADMIN, Role.HELPDESK, Role.AUDITOR, Role.MANAGER} in seen
    assert frozenset() in seen and {Role.EMPLOYEE, Role.MANAGER} in seen


def test_account_with_roles_names_its_groups() -> None:
    account = _accounts()[list(CAST).index("sam")]  # in "Gatehouse Admins" only
    loaded = account_with_roles(account.pk, [("Gatehouse Admins", "boss"), ("IT", "it")])
    assert loaded is not None
    assert (loaded.role_is_boss, loaded.role_is_it, loaded.role_is_manager) == (  # type: ignore[attr-defined]
        True,
        False,
        False,
    )


def test_account_with_roles_of_no_such_account_is_none() -> None:
    assert account_with_roles(987654, [("Gatehouse Admins", "admin")]) is None


def test_account_with_roles_refuses_a_role_that_is_not_a_name() -> None:
    with pytest.raises(ValueError, match="must be an identifier"):
        account_with_roles(1, [("Gatehouse Admins", "x; DROP TABLE portal_user")])
