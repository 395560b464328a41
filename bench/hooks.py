"""hook_latency: changes made in Okta reaching the mirror through the event hook.

Gatehouse registers its hook in the sandbox (create, verify, activate: the admin's one click)
against a gunicorn of its own, a Celery worker applies the deliveries, and the benchmark makes
``changes`` membership changes through Okta's API at a steady pace: for each, the seconds from
Okta's answer to the mirror holding the membership (polled every 20 ms).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.env import BenchEnv
from bench.pages import Gunicorn, percentile
from bench.provision import Worker
from bench.sandbox import Sandbox
from bench.seed import HOOK_GROUP, PEOPLE

PACE_PER_SECOND = 20.0
POLL_SECONDS = 0.02


def run(env: BenchEnv, sandbox: Sandbox, changes: int, *, timeout: float = 120.0) -> dict[str, Any]:
    from okta.actors import SystemActor
    from okta.connection import event_hook_register
    from okta.models import GroupMembership, OktaConnection, OktaUser

    gid = PEOPLE.groups[HOOK_GROUP]
    people = list(
        OktaUser.objects.filter(status="ACTIVE")
        .exclude(id__in=GroupMembership.objects.filter(group_id=gid).values("user_id"))
        .order_by("id")
        .values_list("id", flat=True)[:changes]
    )
    changed: dict[str, float] = {}
    seen: dict[str, float] = {}
    with Gunicorn(env) as web, Worker(env, concurrency=2):
        status = event_hook_register(
            actor=SystemActor("bench"), site_url=f"http://127.0.0.1:{web.port}"
        )
        hook_id = OktaConnection.objects.get(pk=1).event_hook_id
        try:

            def change_all() -> None:
                for uid in people:
                    sandbox.api("PUT", f"/api/v1/groups/{gid}/users/{uid}")
                    changed[uid] = time.monotonic()
                    time.sleep(1 / PACE_PER_SECOND)

            maker = threading.Thread(target=change_all, daemon=True)
            started = time.monotonic()
            maker.start()
            while len(seen) < len(people) and time.monotonic() - started < timeout:
                now = time.monotonic()
                waiting = [uid for uid in changed if uid not in seen]
                if waiting:
                    found = GroupMembership.objects.filter(
                        group_id=gid, user_id__in=waiting
                    ).values_list("user_id", flat=True)
                    for uid in found:
                        seen[uid] = now
                time.sleep(POLL_SECONDS)
            maker.join(timeout=5)
        finally:
            # Later benchmarks run without this gunicorn: Okta would retry into nothing.
            sandbox.api("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/deactivate")
            sandbox.api("DELETE", f"/api/v1/eventHooks/{hook_id}")
    latencies = sorted(seen[uid] - changed[uid] for uid in seen)
    return {
        "changes": len(people),
        "seen": len(seen),
        "missed": len(people) - len(seen),
        "hook_status": status,
        "deliveries": sandbox.counters()["hook_deliveries"],
        "p50_seconds": round(percentile(latencies, 0.5), 3) if latencies else None,
        "p95_seconds": round(percentile(latencies, 0.95), 3) if latencies else None,
        "max_seconds": round(latencies[-1], 3) if latencies else None,
        "pace_per_second": PACE_PER_SECOND,
    }
