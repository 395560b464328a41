"""Bulk identity operations (identity/): the preview page, then the run against Okta's limits.

``preview``: an admin selects the members of a group of N people and previews adding them all
to another group, through the bulk page itself (the form POST that renders the preview, with
the whole page around it); seconds per render and SQL queries per render, which must be the
same for the members of a group of two.
``run``: the same bulk run confirmed by the admin and, above the policy's size, by a second
admin, while no worker runs; then a worker drains the N operations against the sandbox's
allowance, measured like ``provision`` (first-window ratio, lost, doubled, latency).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.env import BenchEnv
from bench.provision import drain, okta_now
from bench.sandbox import Sandbox
from bench.seed import ADMIN_GROUP, BULK_SOURCE_GROUP, BULK_TARGET_GROUP, PEOPLE, portal_users

RENDERS = 5  # after one warm-up


def _admins() -> tuple[Any, Any]:
    from accounts.models import User

    users = portal_users([PEOPLE.admin, PEOPLE.second_admin])
    return User.objects.get(pk=users[PEOPLE.admin]), User.objects.get(pk=users[PEOPLE.second_admin])


def _form(**selection: str) -> dict[str, str]:
    return {
        **(selection or {"group_id": PEOPLE.groups[BULK_SOURCE_GROUP]}),
        "action": "group_add",
        "target_group_id": PEOPLE.groups[BULK_TARGET_GROUP],
        "preview": "1",
    }


def _render(client: Any, form: dict[str, str]) -> tuple[float, int, int]:
    """One preview page: (seconds, SQL queries, bytes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        response = client.post("/identity/admin/bulk/", form)
        body = response.content
        elapsed = time.perf_counter() - began
    if response.status_code != 200 or b'data-testid="preview-summary"' not in body:
        raise RuntimeError(f"the bulk preview failed: HTTP {response.status_code}")
    return elapsed, len(captured), len(body)


def preview(env: BenchEnv, people: list[str]) -> dict[str, Any]:
    from django.test import Client

    from identity.bulk import bulk_preview

    admin, _ = _admins()
    client = Client()
    client.force_login(admin)
    _render(client, _form())  # warms templates and connections
    renders = [_render(client, _form()) for _ in range(RENDERS)]
    seconds = [r[0] for r in renders]
    # The same page for a group of two (the portal's admins): the queries must not grow with N.
    _, few_people_queries, _ = _render(client, _form(group_id=PEOPLE.groups[ADMIN_GROUP]))
    began = time.perf_counter()
    shown = bulk_preview(
        actor=admin,
        action="group_add",
        params={"group_id": PEOPLE.groups[BULK_TARGET_GROUP]},
        selection={"group_id": PEOPLE.groups[BULK_SOURCE_GROUP]},
    )
    service_seconds = time.perf_counter() - began
    return {
        "people": len(people),
        "changing": shown.changing,
        "skipped": shown.skipped,
        "seconds": round(statistics.median(seconds), 3),
        "max_seconds": round(max(seconds), 3),
        "service_seconds": round(service_seconds, 3),
        "renders": len(seconds),
        "queries": renders[-1][1],
        "queries_two_people": few_people_queries,
        "queries_constant": renders[-1][1] == few_people_queries,
        "html_kb": round(renders[-1][2] / 1024, 1),
    }


def run(
    env: BenchEnv, sandbox: Sandbox, people: list[str], *, per_minute: int, concurrency: int
) -> dict[str, Any]:
    from identity.bulk import bulk_confirm, bulk_preview, bulk_progress, bulk_second_confirm
    from identity.models import BulkStatus

    admin, second = _admins()
    params = {"group_id": PEOPLE.groups[BULK_TARGET_GROUP]}
    selection = {"group_id": PEOPLE.groups[BULK_SOURCE_GROUP]}
    since = okta_now()
    began = time.monotonic()
    shown = bulk_preview(actor=admin, action="group_add", params=params, selection=selection)
    bulk_run = bulk_confirm(
        actor=admin,
        action="group_add",
        params=params,
        selection=selection,
        preview_hash=shown.hash,
    )
    second_admin = bulk_run.status == BulkStatus.AWAITING_CONFIRMATION
    if second_admin:
        bulk_run = bulk_second_confirm(actor=second, run_id=bulk_run.pk)
    confirm_seconds = time.monotonic() - began
    changing = [r.user_id for r in shown.rows if not r.skip]
    result = drain(
        env,
        sandbox,
        correlations=[bulk_run.correlation],
        subjects=changing,
        group_id=PEOPLE.groups[BULK_TARGET_GROUP],
        since=since,
        per_minute=per_minute,
        concurrency=concurrency,
    )
    progress = bulk_progress(bulk_run)
    return {
        "people": len(people),
        "changes": len(changing),
        "second_admin": second_admin,
        **result,
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "confirm_seconds": round(confirm_seconds, 2),
    }
