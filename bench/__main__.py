"""``python -m bench [--quick] [--only NAME ...] [--output PATH]``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import env as bench_env
from bench import report

NAMES = (
    "sync_full",
    "fetch_only",
    "sync_incremental",
    "sync_rate_limited",
    "sync_full_limited",
    "hook_latency",
    "pages",
    "export",
    "provision_single",
    "provision",
    "bulk_preview",
    "bulk",
    "audit_stream",
    "ask",
    "api",
)
# Benchmarks that only read the seeded data, so ``--reuse`` can run them again on it.
REUSABLE = {"pages", "export"}


@dataclass(frozen=True)
class Scale:
    org: str
    incremental_changes: int
    rate_limited_groups: int
    rate_limited_per_minute: int
    hook_changes: int
    audit_events: int
    access_requests: int
    sessions: int
    page_seconds: float
    approvals: int
    provision_per_minute: int
    worker_concurrency: int
    bulk_people: int
    bulk_per_minute: int
    stream_events: int
    api_clients: int
    api_per_client: int


FULL = Scale(
    org="large",
    incremental_changes=1000,
    rate_limited_groups=700,
    rate_limited_per_minute=400,
    hook_changes=200,
    audit_events=1_000_000,
    access_requests=100_000,
    sessions=20,
    page_seconds=12.0,
    approvals=1000,
    provision_per_minute=600,
    worker_concurrency=8,
    bulk_people=5000,
    bulk_per_minute=1200,
    stream_events=100_000,
    api_clients=20,
    api_per_client=25,
)
QUICK = Scale(
    org="acme",
    incremental_changes=100,
    rate_limited_groups=20,
    rate_limited_per_minute=10_000,
    hook_changes=20,
    audit_events=10_000,
    access_requests=1_000,
    sessions=4,
    page_seconds=2.0,
    approvals=20,
    provision_per_minute=10_000,
    worker_concurrency=2,
    bulk_people=50,
    bulk_per_minute=10_000,
    stream_events=2_000,
    api_clients=4,
    api_per_client=5,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run (CI): the acme org")
    parser.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=", ".join(NAMES))
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="pages and export only: measure again on the previous run's seeded database",
    )
    parser.add_argument(
        "--output", type=Path, default=bench_env.BENCH_DIR / "latest.json", help="JSON file"
    )
    args = parser.parse_args(argv)
    selected = set(args.only or NAMES)
    if args.reuse and not selected <= REUSABLE:
        parser.error(f"--reuse measures only {' and '.join(sorted(REUSABLE))} (use --only)")
    scale = QUICK if args.quick else FULL
    began = time.monotonic()
    load = os.getloadavg()[0]
    if not args.quick and load > 0.5:
        print(f"note: load average is {load:.2f}; figures will be pessimistic.", file=sys.stderr)

    # Helpers run in sessions of their own: make SIGTERM unwind through stop_all() too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = bench_env.prepare(quick=args.quick, reuse=args.reuse)
    host = report.machine(env)
    results: dict[str, dict[str, Any]] = {}
    try:
        if args.reuse:
            run_reused(env, scale, selected, results)
        else:
            run_all(env, scale, selected, results)
    finally:
        env.stop_all()
    results = {name: results[name] for name in NAMES if name in results}
    document = report.write(args.output, env, results, time.monotonic() - began, host)
    print(report.table(results))
    broken = [name for name, r in results.items() if "error" in r]
    verdict = "PASS" if document["pass"] else "FAIL"
    if args.quick:
        verdict += " (quick: the targets are for the full run; only errors fail a quick run)"
    print(f"\n{verdict} in {document['total_seconds']} s; wrote {args.output}")
    if broken:
        print(f"errors in: {', '.join(broken)}", file=sys.stderr)
    if args.quick:
        return 1 if broken else 0
    return 0 if document["pass"] else 1


def run_reused(
    env: bench_env.BenchEnv, scale: Scale, selected: set[str], results: dict[str, dict[str, Any]]
) -> None:
    import django

    django.setup()
    from bench import pages, seed

    say(f"reusing the seeded data on {env.database}")
    data = seed.seeded_data(env)
    if "pages" in selected:
        measure_reused(
            "pages", lambda: pages.run(env, data, scale.sessions, scale.page_seconds), results
        )
    if "export" in selected:
        measure_reused("export", lambda: pages.export(env, data), results)


def measure_reused(name: str, work: Callable[[], dict[str, Any]], results: dict[str, Any]) -> None:
    say(f"{name} …")
    started = time.monotonic()
    try:
        result = work()
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    results[name] = (
        report.judge(name, result) if "error" not in result else {**result, "pass": False}
    )
    say(f"{name} done in {time.monotonic() - started:.1f} s")


def run_all(
    env: bench_env.BenchEnv, scale: Scale, selected: set[str], results: dict[str, dict[str, Any]]
) -> None:
    import django

    from bench import sandbox as sandbox_mod

    say(f"starting the sandbox (--org {scale.org}) on {env.database}")
    sandbox = sandbox_mod.start(env, scale.org)
    django.setup()

    from bench import api, ask, bulk, hooks, pages, provision, seed, streaming, syncs

    seed.portal_groups(sandbox)
    bulk_people: list[str] = []
    if selected & {"bulk_preview", "bulk", "ask"}:
        say(f"putting {scale.bulk_people:,} people in the bulk benchmark's group")
        bulk_people = seed.bulk_groups(sandbox, scale.bulk_people)

    def measure(name: str, work: Callable[[], dict[str, Any]], *, required: bool = False) -> None:
        if name not in selected and not required:
            return
        say(f"{name} …")
        started = time.monotonic()
        try:
            result = work()
        except Exception as exc:
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        if name in selected:
            results[name] = (
                report.judge(name, result)
                if "error" not in result
                else {
                    **result,
                    "pass": False,
                }
            )
        say(f"{name} done in {time.monotonic() - started:.1f} s")

    # Every other benchmark reads the mirror a full sync writes.
    measure("sync_full", lambda: syncs.sync_full(env, sandbox), required=True)
    seed.analyze()
    measure("fetch_only", lambda: syncs.fetch_only(env, sandbox))
    if "sync_full" in results and "fetch_only" in results and "error" not in results["fetch_only"]:
        full, fetch = results["sync_full"], results["fetch_only"]
        if "error" not in full:
            full["fetch_only_seconds"] = fetch["seconds"]
            full["ratio_to_fetch"] = round(full["seconds"] / fetch["seconds"], 2)
            report.judge("sync_full", full)
    measure(
        "sync_incremental",
        lambda: syncs.sync_incremental(env, sandbox, scale.incremental_changes),
    )
    measure(
        "sync_rate_limited",
        lambda: syncs.sync_rate_limited(
            env,
            sandbox,
            groups=scale.rate_limited_groups,
            per_minute=scale.rate_limited_per_minute,
        ),
    )
    measure("sync_full_limited", lambda: syncs.sync_full_limited(env, sandbox))
    measure("hook_latency", lambda: hooks.run(env, sandbox, scale.hook_changes))
    if selected & {"pages", "export", "api"}:
        say("seeding portal data (people, catalog, requests, audit events)")
        data = seed.portal_data(env, scale.access_requests, scale.audit_events)
        measure("pages", lambda: pages.run(env, data, scale.sessions, scale.page_seconds))
        measure("export", lambda: pages.export(env, data))
        measure(
            "api",
            lambda: api.run(env, data, clients=scale.api_clients, per_client=scale.api_per_client),
        )
    if "provision_single" in selected:
        with provision.Worker(env, scale.worker_concurrency) as worker:
            measure("provision_single", lambda: provision.single(env, sandbox, worker))
    measure(
        "provision",
        lambda: provision.many(
            env,
            sandbox,
            count=scale.approvals,
            per_minute=scale.provision_per_minute,
            concurrency=scale.worker_concurrency,
        ),
    )
    measure("bulk_preview", lambda: bulk.preview(env, bulk_people))
    # Before the bulk run adds the selection to the target group (nobody would change after).
    measure("ask", lambda: ask.run(env, bulk_people))
    measure(
        "bulk",
        lambda: bulk.run(
            env,
            sandbox,
            bulk_people,
            per_minute=scale.bulk_per_minute,
            concurrency=scale.worker_concurrency,
        ),
    )
    measure("audit_stream", lambda: streaming.run(env, scale.stream_events))


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
