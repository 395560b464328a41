"""Sync benchmarks: sync_full, fetch_only, sync_incremental, sync_rate_limited,
sync_full_limited."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.env import BASE_DIR, BenchEnv
from bench.sandbox import CounterSampler, Sandbox
from bench.seed import PEOPLE

MEMBER_BUCKET = "/api/v1/groups/{id}"  # the sandbox's bucket for member lists and changes
WORKFORCE = "okta-workforce"  # the sandbox's profile of Okta's published Workforce limits
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def run_child(env: BenchEnv, *args: str, timeout: float = 900.0) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.child", *args],
        cwd=BASE_DIR,
        env=env.child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"bench.child {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return json.loads(lines[-1])


def _rows(counts: dict[str, Any]) -> int:
    kinds = ("users", "groups", "apps", "memberships", "assignments", "admin_roles")
    return sum(int(counts.get(k) or 0) for k in kinds)


# --- sync_full ------------------------------------------------------------------------------


def sync_full(env: BenchEnv, sandbox: Sandbox) -> dict[str, Any]:
    sandbox.reset_counters()
    child = run_child(env, "sync", "--kind", "full")
    counters = sandbox.counters()
    rows = _rows(child["counts"])
    return {
        "seconds": child["seconds"],
        "rows": rows,
        "rows_per_second": round(rows / child["seconds"]) if child["seconds"] else 0,
        "peak_rss_mb": child["peak_rss_mb"],
        "sql_statements": child["sql_statements"],
        "okta_requests": counters["requests"],
        "rate_limited": counters["rate_limited"],
        "status": child["status"],
        "errors": child["errors"],
        "counts": child["counts"],
        "phase_seconds": child["phase_seconds"],
    }


# --- fetch_only: the same pages, fetched with a bare httpx loop and thrown away -----------------


def fetch_only(env: BenchEnv, sandbox: Sandbox) -> dict[str, Any]:
    """Every page a full sync reads, with the sync's page sizes and member-fetch threads.

    Bodies are parsed (to count rows and follow nothing but the Link header), then dropped.
    """
    from okta.sync.full import MEMBER_FETCH_THREADS

    headers = {"Authorization": f"SSWS {sandbox.token}", "Accept": "application/json"}
    limits = httpx.Limits(max_connections=MEMBER_FETCH_THREADS + 2)
    rows = 0
    requests = 0
    began = time.perf_counter()
    with httpx.Client(base_url=sandbox.url, headers=headers, limits=limits, timeout=60) as http:

        def walk(path: str, params: dict[str, Any] | None = None) -> tuple[int, int, list[Any]]:
            url: str | None = path
            count = pages = 0
            ids: list[Any] = []
            while url:
                response = http.get(url, params=params)
                response.raise_for_status()
                body = response.json()
                pages += 1
                count += len(body)
                if path in ("/api/v1/groups", "/api/v1/apps"):
                    ids.extend(item["id"] for item in body)
                match = _NEXT.search(",".join(response.headers.get_list("link")))
                url, params = (match.group(1) if match and body else None), None
            return count, pages, ids

        def walk_members(path: str) -> tuple[int, int]:
            count, pages, _ = walk(path, {"limit": 1000 if "/groups/" in path else 500})
            return count, pages

        for path, limit in (("/api/v1/users", 200),):
            n, p, _ = walk(path, {"limit": limit})
            rows, requests = rows + n, requests + p
        n, p, group_ids = walk("/api/v1/groups", {"limit": 10000})
        rows, requests = rows + n, requests + p
        n, p, app_ids = walk("/api/v1/apps", {"limit": 200})
        rows, requests = rows + n, requests + p
        paths = [f"/api/v1/groups/{g}/users" for g in group_ids]
        paths += [f"/api/v1/apps/{a}/users" for a in app_ids]
        with ThreadPoolExecutor(MEMBER_FETCH_THREADS) as pool:
            for n, p in pool.map(walk_members, paths):
                rows, requests = rows + n, requests + p
        assignees = http.get("/api/v1/iam/assignees/users", params={"limit": 100}).json()
        requests += 1
        for item in assignees.get("value") or []:
            roles = http.get(f"/api/v1/users/{item['id']}/roles").json()
            rows, requests = rows + len(roles), requests + 1
    seconds = time.perf_counter() - began
    return {
        "seconds": round(seconds, 3),
        "rows": rows,
        "requests": requests,
        "rows_per_second": round(rows / seconds) if seconds else 0,
    }


# --- sync_incremental -----------------------------------------------------------------------


def make_changes(sandbox: Sandbox, count: int, seed: int = 7) -> dict[str, Any]:
    """``count`` changes made outside Gatehouse through the sandbox's Management API: member
    adds and removes, profile edits, suspensions and app assignments; returns what to expect."""
    from okta.models import GroupMembership, OktaApp, OktaGroup, OktaUser

    rng = random.Random(seed)
    # The benchmark's own people and groups (admins, approvers, the bulk groups) stay as seeded:
    # the later benchmarks count on them.
    own_people = {PEOPLE.admin, PEOPLE.second_admin, *PEOPLE.approvers, *PEOPLE.employees}
    own_groups = set(PEOPLE.groups.values())
    users = list(
        OktaUser.objects.filter(status="ACTIVE")
        .exclude(id__in=own_people)
        .order_by("id")
        .values_list("id", flat=True)
    )
    groups = list(
        OktaGroup.objects.filter(type="OKTA_GROUP")
        .exclude(id__in=own_groups)
        .order_by("id")
        .values_list("id", flat=True)
    )
    apps = list(OktaApp.objects.order_by("id").values_list("id", flat=True))
    n_add, n_remove = count * 40 // 100, count * 20 // 100
    n_profile, n_suspend = count * 20 // 100, count * 10 // 100
    n_assign = count - n_add - n_remove - n_profile - n_suspend
    touched: set[str] = set()

    def fresh_user() -> str:
        while True:
            uid = rng.choice(users)
            if uid not in touched:
                touched.add(uid)
                return uid

    expected: dict[str, list[Any]] = {
        "member_added": [],
        "member_removed": [],
        "title": [],
        "suspended": [],
        "assigned": [],
    }
    for _ in range(n_add):
        gid, uid = rng.choice(groups), fresh_user()
        sandbox.api("PUT", f"/api/v1/groups/{gid}/users/{uid}")
        expected["member_added"].append((gid, uid))
    removable = list(
        GroupMembership.objects.filter(group__type="OKTA_GROUP")
        .exclude(group__name="Everyone")
        .exclude(group_id__in=own_groups)
        .exclude(user_id__in=own_people)
        .order_by("?")
        .values_list("group_id", "user_id")[: n_remove * 3]
    )
    for gid, uid in removable:
        if len(expected["member_removed"]) >= n_remove:
            break
        if uid in touched:
            continue
        touched.add(uid)
        sandbox.api("DELETE", f"/api/v1/groups/{gid}/users/{uid}")
        expected["member_removed"].append((gid, uid))
    for n in range(n_profile):
        uid = fresh_user()
        sandbox.api("POST", f"/api/v1/users/{uid}", {"profile": {"title": f"Bench title {n}"}})
        expected["title"].append((uid, f"Bench title {n}"))
    for _ in range(n_suspend):
        uid = fresh_user()
        sandbox.api("POST", f"/api/v1/users/{uid}/lifecycle/suspend")
        expected["suspended"].append(uid)
    for _ in range(n_assign):
        aid, uid = rng.choice(apps), fresh_user()
        sandbox.api("POST", f"/api/v1/apps/{aid}/users", {"id": uid, "scope": "USER"})
        expected["assigned"].append((aid, uid))
    return expected


def check_changes(expected: dict[str, list[Any]]) -> dict[str, int]:
    """How many of the expected changes the mirror does not show."""
    from okta.models import AppAssignment, GroupMembership, OktaUser

    missed = {key: 0 for key in expected}
    for gid, uid in expected["member_added"]:
        if not GroupMembership.objects.filter(group_id=gid, user_id=uid).exists():
            missed["member_added"] += 1
    for gid, uid in expected["member_removed"]:
        if GroupMembership.objects.filter(group_id=gid, user_id=uid).exists():
            missed["member_removed"] += 1
    for uid, title in expected["title"]:
        if not OktaUser.objects.filter(pk=uid, title=title).exists():
            missed["title"] += 1
    for uid in expected["suspended"]:
        if not OktaUser.objects.filter(pk=uid, status="SUSPENDED").exists():
            missed["suspended"] += 1
    for aid, uid in expected["assigned"]:
        if not AppAssignment.objects.filter(app_id=aid, user_id=uid).exists():
            missed["assigned"] += 1
    return missed


def sync_incremental(env: BenchEnv, sandbox: Sandbox, changes: int) -> dict[str, Any]:
    expected = make_changes(sandbox, changes)
    made = sum(len(v) for v in expected.values())
    # The sync reads the System Log up to its start, in whole seconds: changes made in that
    # same second belong to the next run. Real changes precede a sync by minutes.
    time.sleep(1.1)
    sandbox.reset_counters()
    child = run_child(env, "sync", "--kind", "incremental")
    counters = sandbox.counters()
    missed = check_changes(expected)
    return {
        "changes": made,
        "seconds": child["seconds"],
        "okta_requests": counters["requests"],
        "sql_statements": child["sql_statements"],
        "peak_rss_mb": child["peak_rss_mb"],
        "missed_changes": sum(missed.values()),
        "missed_by_kind": {k: v for k, v in missed.items() if v},
        "phase_seconds": child["phase_seconds"],
        "status": child["status"],
        "errors": child["errors"],
    }


# --- sync_rate_limited ----------------------------------------------------------------------


def sync_rate_limited(
    env: BenchEnv, sandbox: Sandbox, *, groups: int, per_minute: int
) -> dict[str, Any]:
    """An incremental sync that must re-read the member lists of ``groups`` changed groups,
    with the sandbox allowing ``per_minute`` requests a minute on that bucket."""
    from okta.models import GroupMembership, OktaGroup, OktaUser

    rng = random.Random(11)
    group_ids = list(
        OktaGroup.objects.filter(type="OKTA_GROUP")
        .exclude(name="Everyone")
        .exclude(id__in=set(PEOPLE.groups.values()))
        .order_by("id")
        .values_list("id", flat=True)
    )
    chosen = rng.sample(group_ids, min(groups, len(group_ids)))
    users = list(OktaUser.objects.filter(status="ACTIVE").values_list("id", flat=True)[:5000])
    for gid in chosen:
        members = set(
            GroupMembership.objects.filter(group_id=gid).values_list("user_id", flat=True)
        )
        uid = next(u for u in rng.sample(users, 50) if u not in members)
        sandbox.api("PUT", f"/api/v1/groups/{gid}/users/{uid}")
    sandbox.set_rate_limits({MEMBER_BUCKET: per_minute})
    sandbox.reset_counters()
    with CounterSampler(sandbox) as sampler:
        child = run_child(env, "sync", "--kind", "incremental")
    sandbox.set_rate_limits({})
    counters = sampler.samples[-1][1] if sampler.samples else sandbox.counters()
    bucket_requests = counters["by_bucket"].get(MEMBER_BUCKET, 0)

    def succeeded(c: dict[str, Any]) -> int:
        return int(c["by_bucket"].get(MEMBER_BUCKET, 0) - c["rate_limited"])

    window = sampler.first_window(succeeded, per_minute)
    span = sampler.span(succeeded)
    # While the bucket had work: afterwards the sync writes and reads the System Log.
    minutes = max(span[1] - span[0], 1e-6) / 60 if span else 1.0
    return {
        "allowed_per_minute": per_minute,
        "bucket": MEMBER_BUCKET,
        "groups_changed": len(chosen),
        "seconds": child["seconds"],
        "requests": bucket_requests,
        "achieved_per_minute": round(succeeded(counters) / minutes, 1),
        # The first rate-limit window; None when the work fitted in it (quick runs).
        "ratio": window["ratio"] if window else None,
        "window": window,
        "bucket_seconds": round(minutes * 60, 1),
        "rate_limited_429s": counters["rate_limited"],
        "status": child["status"],
        "errors": child["errors"],
    }


# --- sync_full_limited: the full sync at Okta's published limits ------------------------------


def limited_floor(
    by_bucket: dict[str, int], per_minute: dict[str, int], default_per_minute: int
) -> tuple[str, float, dict[str, float]]:
    """The floor a run's calls allow: for each bucket, calls ÷ its per-minute limit (in
    seconds); the largest wins. Returns (bottleneck bucket, floor seconds, every bucket's)."""
    floors = {
        bucket: round(calls / per_minute.get(bucket, default_per_minute) * 60, 1)
        for bucket, calls in by_bucket.items()
    }
    if not floors:
        return "", 0.0, {}
    bottleneck = max(floors, key=lambda b: floors[b])
    return bottleneck, floors[bottleneck], floors


def sync_full_limited(env: BenchEnv, sandbox: Sandbox) -> dict[str, Any]:
    """The full sync again, with the sandbox answering as a Workforce Identity org would
    (Okta's per-minute bucket limits and its concurrency cap of 75): seconds ÷ the floor."""
    limits = sandbox.control("POST", "rate-limits", {"profile": WORKFORCE})
    sandbox.reset_counters()
    try:
        child = run_child(env, "sync", "--kind", "full", timeout=4 * 3600)
        counters = sandbox.counters()
    finally:
        sandbox.control("POST", "rate-limits", {"profile": "unlimited"})
    by_bucket = {str(b): int(n) for b, n in counters["by_bucket"].items()}
    bottleneck, floor, floors = limited_floor(
        by_bucket, limits["per_minute"], limits["default_per_minute"]
    )
    return {
        "profile": WORKFORCE,
        "seconds": child["seconds"],
        "floor_seconds": floor,
        "bottleneck": bottleneck,
        "ratio_to_floor": round(child["seconds"] / floor, 2) if floor else None,
        "floor_by_bucket": floors,
        "requests_by_bucket": by_bucket,
        "okta_requests": counters["requests"],
        "rate_limited_429s": counters["rate_limited"],
        "concurrency_limited": counters["concurrency_limited"],
        "peak_rss_mb": child["peak_rss_mb"],
        "status": child["status"],
        "errors": child["errors"],
        "counts": child["counts"],
    }
