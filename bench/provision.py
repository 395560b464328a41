"""Provisioning: approvals carried into Okta by a real Celery worker.

``single``: one request approved on an idle system; seconds from the approval to the change in
Okta (the sandbox's System Log ``published`` time of the membership event).
``many``: N pending requests approved at once (the approver's bulk decision) against a
rate-limited sandbox; Okta operations per whole minute against the allowance, requests whose
change never reached Okta (lost) or reached it more than once (doubled), and p50/p95 latency.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.env import BENCH_DIR, BenchEnv, wait_for
from bench.sandbox import CounterSampler, Sandbox
from bench.seed import APPROVER_GROUP, PEOPLE, PROVISION_GROUP, policy, portal_users
from bench.syncs import MEMBER_BUCKET

FINAL = ("SUCCEEDED", "FAILED")


class Worker:
    """``celery worker`` with the benchmark's environment; ready when it says so in its log."""

    def __init__(self, env: BenchEnv, concurrency: int = 8) -> None:
        self.env = env
        self.concurrency = concurrency
        self.log = BENCH_DIR / "logs" / "worker.log"
        self.process = env.popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gatehouse",
                "worker",
                "--loglevel",
                "info",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                "bench@%h",
            ],
            log_name="worker",
        )

    def __enter__(self) -> Worker:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError("the Celery worker exited; see var/bench/logs/worker.log")
            return Path(self.log).exists() and " ready." in Path(self.log).read_text()

        wait_for(ready, 90, "the Celery worker", interval=0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.env.stop(self.process, timeout=30)


def _item() -> Any:
    from approvals.models import CatalogItem, ItemKind

    item, _ = CatalogItem.objects.get_or_create(
        group_id=PEOPLE.groups[PROVISION_GROUP],
        defaults={
            "kind": ItemKind.GROUP,
            "name": PROVISION_GROUP,
            "description": "Where the provisioning benchmark adds people",
            "approver_group_id": PEOPLE.groups[APPROVER_GROUP],
            "policy": policy(),
            "reason_required": False,
            "published": True,
        },
    )
    return item


def _subjects(count: int, offset: int) -> list[str]:
    from okta.models import GroupMembership, OktaUser

    busy = {PEOPLE.admin, *PEOPLE.approvers, *PEOPLE.employees}
    members = set(
        GroupMembership.objects.filter(group_id=PEOPLE.groups[PROVISION_GROUP]).values_list(
            "user_id", flat=True
        )
    )
    ids = OktaUser.objects.filter(status="ACTIVE").order_by("id").values_list("id", flat=True)
    chosen = [i for i in ids[offset : offset + count * 2 + 100] if i not in busy | members]
    return chosen[:count]


def _submit(subject_ids: list[str]) -> list[int]:
    from accounts.models import User
    from approvals.services.requests import access_request_submit

    users = portal_users(subject_ids)
    item = _item()
    requesters = User.objects.in_bulk(list(users.values()))
    return [
        access_request_submit(requester=requesters[users[s]], item=item, reason="benchmark").pk
        for s in subject_ids
    ]


def _approver() -> Any:
    from accounts.models import User

    users = portal_users([PEOPLE.approvers[0]])
    return User.objects.get(pk=users[PEOPLE.approvers[0]])


def _wait_operations(correlations: list[str], expected: int, timeout: float) -> dict[str, int]:
    """Wait until ``expected`` operations of these correlations are final; their statuses."""
    from okta.models import Operation

    def done() -> bool:
        return (
            Operation.objects.filter(correlation__in=correlations, status__in=FINAL).count()
            >= expected
        )

    with contextlib.suppress(RuntimeError):
        wait_for(done, timeout, "the operations to finish", interval=0.5)
    return dict(
        Counter(
            Operation.objects.filter(correlation__in=correlations).values_list("status", flat=True)
        )
    )


def okta_adds(sandbox: Sandbox, since: str, gid: str) -> dict[str, list[float]]:
    """Membership-add events in group ``gid`` since ``since``: user id -> times."""
    found: dict[str, list[float]] = {}
    path: str | None = f"/api/v1/logs?since={quote(since)}&limit=1000&filter=" + quote(
        'eventType eq "group.user_membership.add"'
    )
    seen = set()
    uuids: set[Any] = set()
    while path and path not in seen:
        seen.add(path)
        status, events = sandbox.call("GET", path)
        if status != 200 or not events:
            break
        for event in events:
            # Pages overlap by the boundary's timestamp (since is inclusive): count each once.
            if event.get("uuid") in uuids:
                continue
            uuids.add(event.get("uuid"))
            targets = event.get("target") or []
            if not any(t.get("id") == gid for t in targets):
                continue
            for t in targets:
                if t.get("type") == "User":
                    moment = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
                    found.setdefault(t["id"], []).append(moment.timestamp())
        path = None
        if len(events) == 1000:
            last = events[-1]["published"]
            path = f"/api/v1/logs?since={quote(last)}&limit=1000&filter=" + quote(
                'eventType eq "group.user_membership.add"'
            )
    return found


def members(sandbox: Sandbox, gid: str) -> set[str]:
    found: set[str] = set()
    after = ""
    while True:
        page = sandbox.api("GET", f"/api/v1/groups/{gid}/users?limit=1000{after}")
        if not page:
            return found
        found.update(u["id"] for u in page)
        after = f"&after={page[-1]['id']}"


def _latencies(request_ids: list[int], adds: dict[str, list[float]]) -> list[float]:
    from approvals.models import AccessRequest

    out = []
    for subject, decided in AccessRequest.objects.filter(pk__in=request_ids).values_list(
        "subject_id", "decided_at"
    ):
        if decided is not None and adds.get(subject):
            out.append(min(adds[subject]) - decided.timestamp())
    return out


def okta_now() -> str:
    from datetime import UTC

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def single(env: BenchEnv, sandbox: Sandbox, worker: Worker) -> dict[str, Any]:
    from approvals.services.decisions import access_request_decide

    approver = _approver()
    since = okta_now()
    time.sleep(1.0)
    samples: list[dict[str, Any]] = []
    # The first request warms the worker (imports, connections) and is reported apart.
    for attempt in range(4):
        subject = _subjects(1, offset=50 + attempt)
        (pk,) = _submit(subject)
        time.sleep(1.0)  # idle: nothing else queued
        access_request_decide(actor=approver, request_id=pk, outcome="APPROVE")
        statuses = _wait_operations([f"request:{pk}"], 1, timeout=30)
        adds = okta_adds(sandbox, since, PEOPLE.groups[PROVISION_GROUP])
        latency = _latencies([pk], adds)
        samples.append(
            {"seconds": round(latency[0], 3) if latency else None, "operations": statuses}
        )
    warmup, samples = samples[0], samples[1:]
    measured: list[float] = [s["seconds"] for s in samples if s["seconds"] is not None]
    return {
        "seconds": round(sorted(measured)[len(measured) // 2], 3) if measured else None,
        "samples": samples,
        "warmup": warmup,
        "broker": env.broker,
        "worker_concurrency": worker.concurrency,
    }


def many(
    env: BenchEnv,
    sandbox: Sandbox,
    *,
    count: int,
    per_minute: int,
    concurrency: int,
) -> dict[str, Any]:
    """Approve ``count`` requests while no worker runs, then start one: the operations are all
    queued at once (however long the approvals took), and drain against the allowance."""
    from approvals.services.decisions import access_requests_decide_bulk

    subjects = _subjects(count, offset=100)
    began_submit = time.monotonic()
    request_ids = _submit(subjects)
    submit_seconds = time.monotonic() - began_submit
    approver = _approver()
    since = okta_now()
    began = time.time()
    decided = access_requests_decide_bulk(
        actor=approver, request_ids=request_ids, outcome="APPROVE"
    )
    approve_seconds = time.time() - began
    return {
        "approvals": len(decided.decided),
        "refused": len(decided.refused),
        **drain(
            env,
            sandbox,
            correlations=[f"request:{pk}" for pk in request_ids],
            subjects=subjects,
            group_id=PEOPLE.groups[PROVISION_GROUP],
            since=since,
            per_minute=per_minute,
            concurrency=concurrency,
        ),
        "approve_seconds": round(approve_seconds, 2),
        "submit_seconds": round(submit_seconds, 2),
    }


def drain(
    env: BenchEnv,
    sandbox: Sandbox,
    *,
    correlations: list[str],
    subjects: list[str],
    group_id: str,
    since: str,
    per_minute: int,
    concurrency: int,
) -> dict[str, Any]:
    """Start a worker with one queued operation per subject (adding it to ``group_id``) and
    let it drain while the sandbox allows ``per_minute`` member changes: the first window's
    share of the allowance, changes lost or doubled (System Log), latency from the start."""
    sandbox.set_rate_limits({MEMBER_BUCKET: per_minute})
    before = sandbox.counters()
    with CounterSampler(sandbox, interval=0.25) as sampler, Worker(env, concurrency):
        released = time.time()  # the worker is ready: everything is queued before it
        timeout = 120 + len(subjects) / per_minute * 60 * 2
        statuses = _wait_operations(correlations, len(subjects), timeout=timeout)
        end = time.time()
    sandbox.set_rate_limits({})
    after = sandbox.counters()
    adds = okta_adds(sandbox, since, group_id)
    in_group = members(sandbox, group_id)
    lost = len(set(subjects) - in_group)
    doubled = sum(1 for s in subjects if len(adds.get(s, [])) > 1)
    latencies = sorted(min(adds[s]) - released for s in subjects if adds.get(s))
    okta_end = max((t for s in subjects for t in adds.get(s, [])), default=end)
    window = sampler.first_window(lambda c: int(c["writes"]), per_minute)
    elapsed_min = max(okta_end - released, 1e-6) / 60

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))], 2)

    return {
        "allowed_per_minute": per_minute,
        "achieved_per_minute": round(len(latencies) / elapsed_min, 1),
        # The first rate-limit window; None when the work fitted in it (quick runs).
        "ratio": window["ratio"] if window else None,
        "window": window,
        "lost": lost,
        "doubled": doubled,
        "okta_writes": after["writes"] - before["writes"],
        "rate_limited_429s": after["rate_limited"] - before["rate_limited"],
        "operations": statuses,
        # Seconds from the moment all of them were queued to each change in Okta.
        "p50_seconds": pct(0.50),
        "p95_seconds": pct(0.95),
        "drain_seconds": round(end - released, 1),
        "broker": env.broker,
        "worker_concurrency": concurrency,
    }
