"""The page SQL of approvals, in one place (docs/adr/0004-plain-sql-where-benchmarked.md).

The ORM is the default. What is here runs on pages measured in docs/performance.md, where
Django building the query cost more than the database answering it; each function says why in
its docstring, and tests/approvals/test_queries.py holds each to its ORM equivalent.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection

from accounts.models import User
from approvals.models import RequestApprover, may_decide_q

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
