"""Measured work that runs in a child process of its own, so its peak RSS is its own.

``python -m bench.child sync --kind full``: one sync run (SQL statements counted).
``python -m bench.child export --user-id N``: stream the audit CSV export through the view.

Each prints one JSON object as its last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class StatementCounter:
    """A database execute wrapper counting statements (COPY streams count once per batch)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def run_sync(kind: str) -> dict[str, Any]:
    from django.db import connection

    from okta.actors import SystemActor
    from okta.models import SyncRun
    from okta.sync.runs import sync_run_execute, sync_run_start

    counter = StatementCounter()
    phases: dict[str, float] = {}
    current: list[Any] = [None, 0.0]

    def on_progress(run: SyncRun) -> None:
        # Phase changes flush at once, so this times each phase of the sync.
        if run.phase != current[0]:
            now = time.perf_counter()
            if current[0] is not None:
                phases[current[0]] = round(phases.get(current[0], 0.0) + now - current[1], 2)
            current[:] = [run.phase, now]

    began = time.perf_counter()
    with connection.execute_wrapper(counter):
        run = sync_run_start(actor=SystemActor("bench"), kind=kind)
        run = sync_run_execute(run_id=run.pk, on_progress=on_progress)
    seconds = time.perf_counter() - began
    on_progress(SyncRun(phase="(end)"))
    run = SyncRun.objects.get(pk=run.pk)
    counts = {k: v for k, v in run.counts.items() if isinstance(v, int)}
    return {
        "seconds": round(seconds, 3),
        "status": str(run.status),
        "counts": counts,
        "removed": run.counts.get("removed") or {},
        "errors": len(run.errors),
        "first_errors": [str(e)[:300] for e in run.errors[:5]],
        "message": run.message,
        "sql_statements": counter.count,
        "peak_rss_mb": peak_rss_mb(),
        "phase_seconds": phases,
    }


def run_export(user_id: int) -> dict[str, Any]:
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    began = time.perf_counter()
    response = client.get("/audit/export.csv")
    first_byte = None
    size = 0
    lines = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        if first_byte is None:
            first_byte = time.perf_counter() - began
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - began
    return {
        "status": response.status_code,
        "streaming": bool(getattr(response, "streaming", False)),
        "seconds": round(seconds, 3),
        "first_byte_seconds": round(first_byte or seconds, 3),
        "bytes": size,
        "rows": max(lines - 1, 0),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync")
    sync.add_argument("--kind", choices=["full", "incremental"], required=True)
    export = sub.add_parser("export")
    export.add_argument("--user-id", type=int, required=True)
    args = parser.parse_args(argv)

    import django

    django.setup()
    if args.command == "sync":
        from okta.models import SyncKind

        result = run_sync(SyncKind.FULL if args.kind == "full" else SyncKind.INCREMENTAL)
    else:
        result = run_export(args.user_id)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
