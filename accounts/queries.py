"""Plain SQL of the accounts app (docs/adr/0004-plain-sql-where-benchmarked.md): table and
column names come from the models' ``_meta``; tests/accounts/test_queries.py checks each
function against its ORM equivalent."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection

from accounts.models import User
from okta.models import GroupMembership, OktaGroup, OktaUser


def _name(model: type, field: str | None = None) -> str:
    """The quoted table of ``model``, or the quoted column of its ``field``."""
    meta = model._meta  # type: ignore[attr-defined]
    return connection.ops.quote_name(meta.get_field(field).column if field else meta.db_table)


@cache
def _account_with_roles_sql(roles: tuple[str, ...]) -> str:
    for role in roles:
        if not role.isidentifier():
            raise ValueError(f"a role name must be an identifier, not {role!r}")
    okta_id = f"u.{_name(User, 'okta_id')}"
    in_group = (
        f"EXISTS (SELECT 1 FROM {_name(GroupMembership)} m JOIN {_name(OktaGroup)} g"  # noqa: S608 (only %s)
        f" ON g.{_name(OktaGroup, 'id')} = m.{_name(GroupMembership, 'group')}"
        f" WHERE m.{_name(GroupMembership, 'user')} = {okta_id}"
        f" AND g.{_name(OktaGroup, 'name')} = %s)"
    )
    manages = (
        f"EXISTS (SELECT 1 FROM {_name(OktaUser)} r"  # noqa: S608 (names from _meta)
        f" WHERE r.{_name(OktaUser, 'manager_id')} = {okta_id})"
    )
    flags = [f"{in_group} AS role_is_{role}" for role in roles]
    flags.append(f"{manages} AS role_is_manager")
    return (
        f"SELECT u.*, {', '.join(flags)} FROM {_name(User)} u"  # noqa: S608 (only %s)
        f" WHERE u.{_name(User, 'id')} = %s"
    )


def account_with_roles(pk: object, groups: Sequence[tuple[str, str]]) -> User | None:
    """The account ``pk`` with a ``role_is_<role>`` flag for each (Okta group name, role) of
    ``groups`` (membership of the account's Okta person) and ``role_is_manager`` (someone
    reports to them), in one query; None if there is no such account.

    Plain SQL because it runs on every request and Django compiles the same query with its
    EXISTS subqueries for several times the cost of running it (docs/performance.md)."""
    sql = _account_with_roles_sql(tuple(role for _, role in groups))
    found = list(User.objects.raw(sql, [*(name for name, _ in groups), pk]))
    return found[0] if found else None
