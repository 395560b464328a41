"""Targets, pass/fail marks, the printed table and ``var/bench/latest.json``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.env import BASE_DIR, BenchEnv

PAGE_P95_MS = 100.0

# name -> list of (label, predicate over the benchmark's result, text of the target)
Check = tuple[str, Callable[[dict[str, Any]], bool | None], str]
TARGETS: dict[str, list[Check]] = {
    "sync_full": [
        ("seconds", lambda r: r["seconds"] < 180, "< 180 s"),
        ("peak_rss_mb", lambda r: r["peak_rss_mb"] < 400, "< 400 MB"),
        (
            "ratio_to_fetch",
            lambda r: None if r.get("ratio_to_fetch") is None else r["ratio_to_fetch"] <= 1.5,
            "<= 1.5x fetch_only",
        ),
        ("status", lambda r: r["status"].lower() == "succeeded", "succeeded"),
    ],
    "fetch_only": [],
    "sync_incremental": [
        ("seconds", lambda r: r["seconds"] < 5, "< 5 s"),
        ("missed_changes", lambda r: r["missed_changes"] == 0, "0 missed"),
    ],
    "sync_rate_limited": [
        ("ratio", lambda r: None if r["ratio"] is None else r["ratio"] >= 0.9, ">= 0.9 of allowed"),
        ("status", lambda r: r["status"].lower() == "succeeded", "no failure on 429s"),
    ],
    "sync_full_limited": [
        (
            "ratio_to_floor",
            lambda r: None if r["ratio_to_floor"] is None else r["ratio_to_floor"] <= 1.10,
            "<= 1.10x the floor",
        ),
        ("rate_limited_429s", lambda r: r["rate_limited_429s"] == 0, "0 failed (429)"),
        ("peak_rss_mb", lambda r: r["peak_rss_mb"] < 400, "< 400 MB"),
        ("status", lambda r: r["status"].lower() == "succeeded", "succeeded"),
    ],
    "hook_latency": [
        (
            "p95_seconds",
            lambda r: None if r["p95_seconds"] is None else r["p95_seconds"] < 2,
            "< 2 s",
        ),
        ("missed", lambda r: r["missed"] == 0, "0 missed"),
    ],
    "provision": [
        ("ratio", lambda r: None if r["ratio"] is None else r["ratio"] >= 0.9, ">= 0.9 of allowed"),
        ("lost", lambda r: r["lost"] == 0, "0 lost"),
        ("doubled", lambda r: r["doubled"] == 0, "0 doubled"),
    ],
    "provision_single": [("seconds", lambda r: r["seconds"] < 2, "< 2 s")],
    "bulk_preview": [
        ("seconds", lambda r: r["seconds"] < 1, "< 1 s"),
        ("queries_constant", lambda r: r["queries_constant"], "constant"),
    ],
    "ask": [
        ("p95_ms", lambda r: r["p95_ms"] < 50, "< 50 ms"),
        # the bulk preview's own target (< 1 s) and the plan around it
        ("preview_seconds", lambda r: r["preview_seconds"] < 2, "< 2 s"),
    ],
    "bulk": [
        ("ratio", lambda r: None if r["ratio"] is None else r["ratio"] >= 0.9, ">= 0.9 of allowed"),
        ("lost", lambda r: r["lost"] == 0, "0 lost"),
        ("doubled", lambda r: r["doubled"] == 0, "0 doubled"),
        ("failed", lambda r: r["failed"] == 0, "0 failed"),
    ],
    "pages": [
        (
            "p95_ms",
            lambda r: all(p["p95_ms"] < PAGE_P95_MS for p in r["pages"].values()),
            "< 100 ms each",
        ),
        (
            "queries_constant",
            lambda r: all(p["queries_constant"] for p in r["pages"].values()),
            "constant",
        ),
        ("errors", lambda r: all(p["errors"] == 0 for p in r["pages"].values()), "0 errors"),
    ],
    "api": [
        ("submit_p95", lambda r: r["submit"]["p95_ms"] < 250, "submit p95 < 250 ms"),
        ("decide_p95", lambda r: r["decide"]["p95_ms"] < 250, "decide p95 < 250 ms"),
        (
            "unexpected",
            lambda r: r["submit"]["unexpected"] + r["decide"]["unexpected"] == 0,
            "every call answered as expected",
        ),
    ],
    "audit_stream": [
        ("seconds", lambda r: r["seconds"] < 120, "< 120 s"),
        ("lost", lambda r: r["lost"] == 0, "0 lost"),
        ("out_of_order", lambda r: r["out_of_order"] == 0, "in order"),
    ],
    "export": [
        ("streaming", lambda r: r["streaming"], "streamed"),
        ("rows", lambda r: r["rows"] >= r["events"], "every event"),
        ("peak_rss_mb", lambda r: r["peak_rss_mb"] < 250, "< 250 MB"),
    ],
}


def judge(name: str, result: dict[str, Any]) -> dict[str, Any]:
    """Adds ``checks`` ({label: {target, pass}}) and ``pass`` (all known checks pass)."""
    checks: dict[str, Any] = {}
    for label, predicate, target in TARGETS.get(name, []):
        try:
            ok = predicate(result)
        except (KeyError, TypeError):
            ok = False
        checks[label] = {"target": target, "pass": ok}
    result["checks"] = checks
    known = [c["pass"] for c in checks.values() if c["pass"] is not None]
    result["pass"] = all(known) if known else None
    return result


def machine(env: BenchEnv) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "database": env.database,
        "cache": env.cache,
        "broker": env.broker,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary_lines(name: str, r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target) rows for the table."""
    if "error" in r:
        return [("error", r["error"][:70], "")]
    checks = r.get("checks", {})

    def target(label: str) -> str:
        check = checks.get(label)
        if not check:
            return ""
        mark = "n/a" if check["pass"] is None else ("ok" if check["pass"] else "FAIL")
        return f"{check['target']} [{mark}]"

    if name == "sync_full":
        return [
            ("seconds", _fmt(r["seconds"]), target("seconds")),
            ("rows / s", _fmt(r["rows_per_second"]), f"{_fmt(r['rows'])} rows"),
            ("peak RSS MB", _fmt(r["peak_rss_mb"]), target("peak_rss_mb")),
            ("SQL statements", _fmt(r["sql_statements"]), f"{_fmt(r['okta_requests'])} Okta calls"),
            ("÷ fetch_only", _fmt(r.get("ratio_to_fetch")), target("ratio_to_fetch")),
        ]
    if name == "fetch_only":
        return [("seconds", _fmt(r["seconds"]), f"{_fmt(r['requests'])} pages")]
    if name == "sync_incremental":
        return [
            ("seconds", _fmt(r["seconds"]), target("seconds")),
            (
                "changes missed",
                f"{r['missed_changes']} of {r['changes']}",
                target("missed_changes"),
            ),
        ]
    if name == "sync_rate_limited":
        return [
            ("achieved ÷ allowed", _fmt(r["ratio"]), target("ratio")),
            ("per minute", f"{_fmt(r['achieved_per_minute'])} / {r['allowed_per_minute']}", ""),
            ("429s", _fmt(r["rate_limited_429s"]), target("status")),
        ]
    if name == "sync_full_limited":
        return [
            ("seconds ÷ floor", _fmt(r["ratio_to_floor"]), target("ratio_to_floor")),
            (
                "seconds / floor s",
                f"{_fmt(r['seconds'])} / {_fmt(r['floor_seconds'])}",
                f"floor: {r['bottleneck']}",
            ),
            ("429s", _fmt(r["rate_limited_429s"]), target("rate_limited_429s")),
            ("peak RSS MB", _fmt(r["peak_rss_mb"]), target("peak_rss_mb")),
        ]
    if name == "hook_latency":
        return [
            (
                "change→mirror p50 / p95 s",
                f"{_fmt(r['p50_seconds'])} / {_fmt(r['p95_seconds'])}",
                target("p95_seconds"),
            ),
            ("missed", f"{r['missed']} of {r['changes']}", target("missed")),
        ]
    if name == "provision":
        return [
            ("ops/min ÷ allowed", _fmt(r["ratio"]), target("ratio")),
            ("lost / doubled", f"{r['lost']} / {r['doubled']}", "0 / 0"),
            ("p50 / p95 s", f"{_fmt(r['p50_seconds'])} / {_fmt(r['p95_seconds'])}", ""),
        ]
    if name == "provision_single":
        return [("approval→Okta s", _fmt(r["seconds"]), target("seconds"))]
    if name == "bulk_preview":
        return [
            (
                "page seconds",
                _fmt(r["seconds"]),
                f"{_fmt(r['people'])} people, {target('seconds')}",
            ),
            (
                "SQL queries",
                f"{r['queries']} (2 people: {r['queries_two_people']})",
                target("queries_constant"),
            ),
        ]
    if name == "ask":
        return [
            (
                "interpret p50 / p95 ms",
                f"{_fmt(r['p50_ms'])} / {_fmt(r['p95_ms'])}",
                f"{r['sentences']} sentences, {target('p95_ms')}",
            ),
            (
                "preview seconds",
                _fmt(r["preview_seconds"]),
                f"{_fmt(r['preview_changes'])} changes, {target('preview_seconds')}",
            ),
            (
                "SQL queries",
                f"{r['preview_queries']} (2 people: {r['preview_queries_two_people']})",
                "",
            ),
        ]
    if name == "bulk":
        return [
            ("ops/min ÷ allowed", _fmt(r["ratio"]), target("ratio")),
            ("lost / doubled", f"{r['lost']} / {r['doubled']}", "0 / 0"),
            ("failed", f"{r['failed']} of {_fmt(r['changes'])}", target("failed")),
            ("p50 / p95 s", f"{_fmt(r['p50_seconds'])} / {_fmt(r['p95_seconds'])}", ""),
        ]
    if name == "pages":
        rows = []
        for page, p in r["pages"].items():
            ok = (
                "ok"
                if p["p95_ms"] < PAGE_P95_MS and p["queries_constant"] and not p["errors"]
                else "FAIL"
            )
            rows.append(
                (
                    page,
                    f"p50 {_fmt(p['p50_ms'])} / p95 {_fmt(p['p95_ms'])} ms"
                    + (
                        f"; in-process cpu {_fmt(p['cpu_ms'])} / sql {_fmt(p['sql_ms'])} ms"
                        if "cpu_ms" in p
                        else ""
                    ),
                    f"{p['queries']} queries, < 100 ms [{ok}]",
                )
            )
        return rows
    if name == "api":
        rows = []
        for op in ("submit", "decide"):
            x = r[op]
            rows.append(
                (
                    f"{op} p50 / p95 ms",
                    f"{_fmt(x['p50_ms'])} / {_fmt(x['p95_ms'])}",
                    f"{_fmt(x['calls'])} calls, {_fmt(x['per_second'])}/s, "
                    f"{r['clients']} clients, {target(op + '_p95')}",
                )
            )
        rows.append(
            (
                "unexpected answers",
                f"{r['submit']['unexpected']} / {r['decide']['unexpected']}",
                target("unexpected"),
            )
        )
        return rows
    if name == "audit_stream":
        return [
            (
                "catch-up seconds",
                _fmt(r["seconds"]),
                f"{_fmt(r['events'])} events after an outage, {target('seconds')}",
            ),
            ("events / s", _fmt(r["events_per_second"]), f"batches of {r['batch']}"),
            (
                "lost / out of order / twice",
                f"{r['lost']} / {r['out_of_order']} / {r['duplicates']}",
                "0 / 0 / 0",
            ),
        ]
    if name == "export":
        return [
            ("seconds", _fmt(r["seconds"]), f"{_fmt(r['rows'])} rows"),
            ("peak RSS MB", _fmt(r["peak_rss_mb"]), target("peak_rss_mb")),
        ]
    return []


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [("benchmark", "figure", "value", "target")]
    for name, r in results.items():
        for i, (figure, value, target) in enumerate(summary_lines(name, r)):
            rows.append((name if i == 0 else "", figure, value, target))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write(
    path: Path, env: BenchEnv, results: dict[str, Any], seconds: float, host: dict[str, Any]
) -> dict[str, Any]:
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": env.quick,
        "total_seconds": round(seconds, 1),
        "machine": host,
        "pass": all(r.get("pass") is not False for r in results.values()),
        **results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return document
