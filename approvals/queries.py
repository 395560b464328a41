"""The page queries of approvals, in one place: the catalog's, the inbox's and the waiting
count every page shows (docs/adr/0004-plain-sql-where-benchmarked.md).

The ORM is the default. Plain SQL is here only where docs/performance.md measured Django
building a query costing more than the database answering it; each function says in its
docstring which it is and why, and tests/approvals/test_queries.py holds each to what its ORM
equivalent returns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Field, Model, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from accounts.models import User
from approvals.models import (
    OPEN_STATUSES,
    AccessRequest,
    CatalogItem,
    PolicyStage,
    RequestApprover,
    may_decide_q,
)
from okta.models import AppAssignment, GroupMembership, OktaUser

# Stand-ins compiled into the waiting count's SQL once, then swapped for the person's own values.
_PROBE_OKTA_ID = "~gatehouse-probe-okta-id~"
_PROBE_PK = -424242


@functools.cache
def _waiting_count_sql(vendor: str) -> tuple[str, tuple[Any, ...]]:
    """The waiting count's SQL and parameters, compiled by Django once per process from the
    rule itself, with stand-ins for the person's ids."""
    probe = User(pk=_PROBE_PK, okta_id=_PROBE_OKTA_ID)
    slots = RequestApprover.objects.filter(may_decide_q(probe, to_request="request__", to_slot=""))
    sql, params = slots.values("pk").query.get_compiler(connection=connection).as_sql()
    if _PROBE_OKTA_ID not in params or _PROBE_PK not in params:
        raise RuntimeError("The decide rule no longer compiles to parameters for the person.")
    # Django's own SQL, its values all parameters (checked above).
    return f"SELECT COUNT(*) FROM ({sql} LIMIT %s) waiting", tuple(params)  # noqa: S608


def waiting_count(user: User, *, at_most: int | None = None) -> int:
    """How many requests ``user`` may decide now (``approvals.models.may_decide_q``), counted
    up to ``at_most``.

    Plain SQL because it runs on every page, for the navigation's badge: Django compiling the
    query costs several times what running it does (docs/performance.md, "The inbox's waiting
    count"). The SQL is not written by hand: it is the rule's own filter, compiled once per
    process from the approver slots outward (the person's undecided slots are a partial index,
    so the count never walks the requests), and only the person's ids change between pages.
    """
    if not user.okta_id:
        return 0
    sql, params = _waiting_count_sql(connection.vendor)
    values: dict[Any, Any] = {_PROBE_OKTA_ID: user.okta_id, _PROBE_PK: user.pk}
    # LIMIT of the largest bigint: "no limit" in a form both databases accept.
    args: list[Any] = [*(values.get(p, p) for p in params), at_most or 2**63 - 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return int(cursor.fetchone()[0])


# --- the catalog page ------------------------------------------------------------------------

# What a catalog row shows: building a page of items with their group, approver group and
# policy whole (some 45 columns, a JSON field among them) was a tenth of the page's time.
_CATALOG_FIELDS = (
    *("id", "kind", "group_id", "app_id", "name", "description", "department", "owners"),
    *("approver_group_id", "policy_id", "max_duration_days", "risk"),
    *("group__id", "group__type", "approver_group__id", "approver_group__name"),
    *("policy__id", "policy__name", "policy__auto_approve_max_risk"),
)


def catalog_page(
    *, text: str, kind: str, department: str, number: int, size: int
) -> Page[CatalogItem]:
    """The catalog's page query: page ``number`` of the published items matching ``text`` (in
    name or description), ``kind`` and ``department`` ("" for any), by name.

    The ORM, with only the columns a row shows. A first page that holds every match needs no
    COUNT: searching as one types mostly ends there."""
    items = (
        CatalogItem.objects.published()
        .search(text)
        .select_related("group", "approver_group", "policy")
        .only(*_CATALOG_FIELDS)
    )
    if kind:
        items = items.filter(kind=kind)
    if department:
        items = items.filter(department=department)
    if number != 1:
        return Paginator(items, size).get_page(number)
    first = list(items[: size + 1])
    if len(first) <= size:
        return Paginator(first, size).page(1)
    return Page(first[:size], 1, Paginator(items, size))


# The catalog's side queries (what the person holds or asked for, owners' names, policy stages,
# departments) are plain SQL: on that page Django spent more CPU building each of them than the
# database spent answering (docs/performance.md, "Pages since", and ADR 0004).


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _marks(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return connection.ops.quote_name(field.column)


@dataclass(frozen=True)
class HeldAndOpen:
    """Of some catalog items: the groups and apps a person holds, and their open request (its
    id) per item."""

    groups: set[str]
    apps: set[str]
    open_requests: dict[int, int]


def catalog_held_and_open(items: list[CatalogItem], okta_id: str) -> HeldAndOpen:
    """What the person holds of these items and what they have asked for, in one query.

    Plain SQL: as three EXISTS in the items' own query they cost Django several times more CPU
    to build, and PostgreSQL more to plan, than these index lookups cost to run."""
    if not items:
        return HeldAndOpen(set(), set(), {})
    groups = sorted({item.group_id for item in items if item.group_id}) or [""]
    apps = sorted({item.app_id for item in items if item.app_id}) or [""]
    ids = [item.pk for item in items]
    statuses = [status.value for status in OPEN_STATUSES]
    member, assigned, req = GroupMembership, AppAssignment, AccessRequest
    rows = _rows(
        f"SELECT 'g', {_column(member, 'group')}, 0, 0 FROM {_table(member)} "  # noqa: S608 (names from _meta, values %s)
        f"WHERE {_column(member, 'user')} = %s AND {_column(member, 'group')} IN ({_marks(groups)}) "
        f"UNION ALL SELECT 'a', {_column(assigned, 'app')}, 0, 0 FROM {_table(assigned)} "
        f"WHERE {_column(assigned, 'user')} = %s AND {_column(assigned, 'app')} IN ({_marks(apps)}) "
        f"UNION ALL SELECT 'r', '', {_column(req, 'item')}, {_column(req, 'id')} FROM {_table(req)} "
        f"WHERE {_column(req, 'subject')} = %s AND {_column(req, 'status')} IN ({_marks(statuses)}) "
        f"AND {_column(req, 'item')} IN ({_marks(ids)})",
        [okta_id, *groups, okta_id, *apps, okta_id, *statuses, *ids],
    )
    return HeldAndOpen(
        groups={key for kind, key, _, _ in rows if kind == "g"},
        apps={key for kind, key, _, _ in rows if kind == "a"},
        # One open request per person and item (approvals_one_open_request).
        open_requests={item_id: pk for kind, _, item_id, pk in rows if kind == "r"},
    )


@dataclass(frozen=True)
class CatalogPeople:
    """The names the catalog shows: the items' owners by Okta id, and the person's manager."""

    owners: dict[str, str]
    manager: str


def catalog_people(items: list[CatalogItem], okta_id: str) -> CatalogPeople:
    """The items' owners and the person's manager, named, in one query.

    Plain SQL for the same reason as ``catalog_held_and_open``; the manager is a scalar
    subquery (evaluated once), not a join: with a join the OR cannot use the primary key and
    PostgreSQL reads every person."""
    if not items:
        return CatalogPeople({}, "")
    owners = sorted({o for item in items for o in item.owners}) or [""]
    person = OktaUser
    pk, manager = _column(person, "id"), _column(person, "manager_id")
    names = ", ".join(
        f"u.{_column(person, f)}" for f in ("login", "first_name", "last_name", "display_name")
    )
    my_manager = f"(SELECT {manager} FROM {_table(person)} WHERE {pk} = %s)"  # noqa: S608 (names from _meta)
    rows = _rows(
        f"SELECT u.{pk}, {names}, u.{pk} = {my_manager} FROM {_table(person)} u "  # noqa: S608 (names from _meta, values %s)
        f"WHERE u.{pk} IN ({_marks(owners)}) OR u.{pk} = {my_manager}",
        [okta_id, *owners, okta_id],
    )
    found, manager_name = {}, ""
    for okta_user_id, login, first_name, last_name, display_name, is_my_manager in rows:
        someone = OktaUser(
            id=okta_user_id,
            login=login,
            first_name=first_name,
            last_name=last_name,
            display_name=display_name,
        )
        found[okta_user_id] = str(someone)
        if is_my_manager:
            manager_name = str(someone)
    return CatalogPeople(found, manager_name)


def catalog_policy_stages(policy_ids: set[int]) -> dict[int, list[str]]:
    """Who approves at each stage of these policies, in order, by policy id.

    Plain SQL for the same reason as ``catalog_held_and_open``: it reads every policy's stages
    (a handful of rows, and a query that never changes) and keeps the wanted ones."""
    stage = PolicyStage
    rows = _rows(
        f"SELECT {_column(stage, 'policy')}, {_column(stage, 'approvers')} "  # noqa: S608 (names from _meta)
        f"FROM {_table(stage)} ORDER BY {_column(stage, 'policy')}, {_column(stage, 'position')}",
        [],
    )
    stages: dict[int, list[str]] = {}
    for policy_id, approvers in rows:
        if policy_id in policy_ids:
            stages.setdefault(policy_id, []).append(approvers)
    return stages


def catalog_departments() -> list[str]:
    """The departments of published items, for the catalog's filter.

    Plain SQL for the same reason as ``catalog_held_and_open``."""
    item, department = CatalogItem, _column(CatalogItem, "department")
    rows = _rows(
        f"SELECT DISTINCT {department} FROM {_table(item)} "  # noqa: S608 (names from _meta, values %s)
        f"WHERE {_column(item, 'published')} = %s AND {department} <> '' ORDER BY {department}",
        [True],
    )
    return [name for (name,) in rows]


# --- the inbox page --------------------------------------------------------------------------

# What an inbox row shows; the rest of a request (its timeline, failure text…) stays unread.
_INBOX_FIELDS = (
    *("id", "item_id", "kind", "title", "requester_id", "subject_id", "subject_label"),
    *("status", "reason", "duration_days", "stages", "current_stage", "created_at"),
    *("item__name", "item__risk"),
    *("requester__okta_id", "requester__display_name", "requester__username"),
    *("requester__first_name", "requester__last_name"),
)


def inbox_rows(requests: QuerySet[AccessRequest]) -> list[AccessRequest]:
    """These requests, oldest first, with what an approver weighs beside each: the item and its
    risk, who asks, and how much access the subject already has (``subject_groups``,
    ``subject_apps``; listed on demand). The ORM, with only the columns a row shows."""
    return list(
        requests.select_related("item", "requester")
        .only(*_INBOX_FIELDS)
        .annotate(**subject_access_counts())
        .order_by("created_at", "id")
    )


def inbox_page(user: User, *, after: int | None, size: int) -> tuple[list[AccessRequest], bool]:
    """The inbox's page query: ``size`` requests ``user`` may decide now, oldest first, after
    the request ``after`` (keyset: created_at, id; a request no longer waiting starts again at
    the first page), and whether more follow.

    The ORM, in one query: the page's ids come from a subquery that walks the pending-requests
    index and stops after a page; the joins and counts then run for those rows only."""
    queue = AccessRequest.objects.decidable_by(user)
    cursor = queue.filter(pk=after).values("created_at", "pk").first() if after else None
    if cursor is not None:
        queue = queue.filter(
            Q(created_at__gt=cursor["created_at"])
            | Q(created_at=cursor["created_at"], pk__gt=cursor["pk"])
        )
    page = queue.order_by("created_at", "id").values("pk")[: size + 1]
    rows = inbox_rows(AccessRequest.objects.filter(pk__in=Subquery(page)))
    return rows[:size], len(rows) > size


def subject_access_counts() -> dict[str, RawSQL]:
    """Annotations for a query of access requests: how many groups (``subject_groups``) and
    apps (``subject_apps``) each request's subject holds, one index-only count per row.

    Plain SQL because Django compiles the equivalent pair of Subquery counts in about a quarter
    of the inbox's query time (docs/performance.md). They name the outer query's table, so the
    query they annotate must not alias it (a plain ``AccessRequest`` query does not)."""
    subject = f"{_table(AccessRequest)}.{_column(AccessRequest, 'subject')}"
    member, assigned = GroupMembership, AppAssignment
    groups = (
        f"SELECT COUNT(*) FROM {_table(member)} m WHERE m.{_column(member, 'user')} = {subject}"  # noqa: S608 (names from _meta)
    )
    apps = (
        f"SELECT COUNT(*) FROM {_table(assigned)} a WHERE a.{_column(assigned, 'user')} = {subject}"  # noqa: S608 (names from _meta)
    )
    return {"subject_groups": RawSQL(groups, ()), "subject_apps": RawSQL(apps, ())}  # noqa: S611
