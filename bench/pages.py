"""Page latency under concurrent sessions against gunicorn, SQL queries per page, and the
streaming audit export.

Sessions are made with Django's session machinery (as a sign-in would), one cookie per
simulated person. Each session is a thread with its own keep-alive connection that asks for a
page, waits a human "think time", and asks again. SQL query counts are taken in-process with
the test client for two different inputs of each page: equal counts mean the page's queries do
not grow with the data. The same in-process requests give each page's CPU and SQL time and its
size, which other work on the machine disturbs far less than the latencies under load.
"""

from __future__ import annotations

import http.client
import random
import runpy
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import quote

from bench.env import BASE_DIR, BenchEnv, free_port, wait_for
from bench.seed import PEOPLE, PortalData
from bench.syncs import run_child

THINK_SECONDS = (0.5, 1.5)  # a person reading the page before the next click


@dataclass
class Page:
    name: str
    who: Callable[[], list[str]]  # okta ids of the people whose sessions load it
    paths: list[str]  # varied inputs, cycled by each session
    variants: tuple[tuple[str, str], tuple[str, str]]  # (okta id, path) for the query counts


def _pages(data: PortalData) -> list[Page]:
    from approvals.models import CatalogItem
    from okta.models import OktaUser

    names = list(CatalogItem.objects.order_by("pk").values_list("name", flat=True)[:200])
    terms = sorted({n.split()[0][:4].lower() for n in names} | {n[-3:] for n in names[:40]})
    surnames = list(
        OktaUser.objects.order_by("id").values_list("last_name", flat=True).distinct()[:50]
    )
    admin, approvers, employees = PEOPLE.admin, PEOPLE.approvers, PEOPLE.employees
    one_item = quote(names[len(names) // 2])
    one_login = quote(OktaUser.objects.get(pk=employees[3]).login)
    # Query-count variants: the same person with a full page and with one result, so a count
    # that grows with the rows shown shows up as a difference.
    return [
        Page(
            "catalog_search",
            lambda: employees,
            [f"/catalog/?q={quote(t)}" for t in terms[:30]] + ["/catalog/"],
            ((employees[0], "/catalog/"), (employees[0], f"/catalog/?q={one_item}")),
        ),
        Page(
            "inbox",
            lambda: approvers,
            ["/inbox/"],
            ((approvers[0], "/inbox/"), (approvers[1], "/inbox/")),
        ),
        Page(
            "my_access",
            lambda: employees,
            ["/access/"],
            ((employees[0], "/access/"), (employees[2], "/access/")),
        ),
        Page(
            "directory_search",
            lambda: [admin],
            [f"/directory/users/?q={quote(s)}" for s in surnames[:30] if s] + ["/directory/users/"],
            ((admin, "/directory/users/"), (admin, f"/directory/users/?q={one_login}")),
        ),
        Page(
            "audit",
            lambda: [admin],
            ["/audit/", "/audit/?outcome=failure", "/audit/?action=request.submitted"],
            ((admin, "/audit/"), (admin, "/audit/?outcome=failure")),
        ),
    ]


def session_cookie(user_pk: int) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import User

    user = User.objects.get(pk=user_pk)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


@dataclass
class InProcess:
    """One page served in this process by the test client: what it costs apart from the
    server's queueing, so less sensitive to other work on the machine than the latencies."""

    queries: int
    status: int
    cpu_ms: float  # median CPU time of this process per request
    sql_ms: float  # median time spent in SQL per request
    html_kb: float


class _SqlTimer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(*args)
        finally:
            self.seconds += time.perf_counter() - began


def in_process(page: Page, users: dict[str, int], repeat: int = 10) -> list[InProcess]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    found = []
    for okta_id, path in page.variants:
        client = Client()
        client.force_login(User.objects.get(pk=users[okta_id]))
        client.get(path)  # warm caches the way a running server would have them
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        # Now: the next request's start clears the connection's query log.
        queries = len(captured)
        cpu, sql = [], []
        for _ in range(repeat):
            timer = _SqlTimer()
            began = time.process_time()
            with connection.execute_wrapper(timer):
                client.get(path)
            cpu.append((time.process_time() - began) * 1000)
            sql.append(timer.seconds * 1000)
        found.append(
            InProcess(
                queries=queries,
                status=response.status_code,
                cpu_ms=round(percentile(cpu, 0.5), 1),
                sql_ms=round(percentile(sql, 0.5), 1),
                html_kb=round(len(response.content) / 1024, 1),
            )
        )
    return found


def server_settings() -> dict[str, Any]:
    """The deployable gunicorn settings (gunicorn.conf.py, which reads WEB_CONCURRENCY and
    GUNICORN_THREADS): the benchmark measures what a deployment gets."""
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))


class Gunicorn:
    def __init__(self, env: BenchEnv, **extra_env: str) -> None:
        self.env = env
        self.port = free_port()
        self.process = env.popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "gatehouse.wsgi:application",
                "--config",
                str(BASE_DIR / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            log_name="gunicorn",
            **extra_env,
        )

    def __enter__(self) -> Gunicorn:
        def ready() -> bool:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                return ok
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited; see var/bench/logs/gunicorn.log") from None
                return False

        wait_for(ready, 60, "gunicorn")
        return self

    def __exit__(self, *exc: object) -> None:
        self.env.stop(self.process)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (0.5 the median, 0.95 the p95); 0.0 for
    none. The one way every benchmark reports a percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _get(port: int, path: str, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def warm_up(port: int, cookies: list[str], paths: list[str], rounds: int = 2) -> None:
    """Untimed requests first, as many at once as there are sessions: a worker's first hit of a
    page loads its templates, and each server thread's first request opens its database
    connection, whose first run of each query is planned cold."""
    for _ in range(rounds):
        threads = [
            threading.Thread(target=_get, args=(port, paths[n % len(paths)], cookie))
            for n, cookie in enumerate(cookies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def load(
    port: int, cookies: list[str], paths: list[str], sessions: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def session(n: int) -> None:
        rng = random.Random(n)
        cookie = cookies[n % len(cookies)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        time.sleep(rng.uniform(0, THINK_SECONDS[1]))  # people do not all click at once
        while time.monotonic() < stop_at:
            path = paths[rng.randrange(len(paths))]
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, path = 0, f"{path}: {exc}"
            elapsed = time.perf_counter() - began
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{status} {path}")
            time.sleep(rng.uniform(*THINK_SECONDS))
        conn.close()

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "requests_per_second": round(len(latencies) / wall, 1) if wall else 0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
    }


def run(env: BenchEnv, data: PortalData, sessions: int, seconds: float) -> dict[str, Any]:
    from approvals.models import AccessRequest
    from okta.models import GroupMembership, OktaUser

    pages = _pages(data)
    results: dict[str, Any] = {}
    for page in pages:
        measured = in_process(page, data.users)
        counts = [m.queries for m in measured]
        results[page.name] = {
            "queries": counts[0],
            "queries_variants": counts,
            # One page shows many rows and the other one: a query per row would differ by
            # tens. A difference of one is Django skipping a query for an empty id list.
            "queries_constant": max(counts) - min(counts) <= 1
            and {m.status for m in measured} == {200},
            # The full page's variant (the first), served in-process.
            "cpu_ms": measured[0].cpu_ms,
            "sql_ms": measured[0].sql_ms,
            "html_kb": measured[0].html_kb,
        }
    with Gunicorn(env) as server:
        for page in pages:
            people = page.who()
            cookies = [session_cookie(data.users[okta_id]) for okta_id in people]
            cookies = [cookies[n % len(cookies)] for n in range(sessions)]
            warm_up(server.port, cookies, page.paths)
            results[page.name].update(load(server.port, cookies, page.paths, sessions, seconds))
    return {
        "sessions": sessions,
        "think_seconds": list(THINK_SECONDS),
        "seconds_per_page": seconds,
        "server": "gunicorn {worker_class}, {workers} workers x {threads} threads".format(
            **server_settings()
        ),
        "data": {
            "okta_users": OktaUser.objects.count(),
            "memberships": GroupMembership.objects.count(),
            "access_requests": AccessRequest.objects.count(),
            "audit_events": data.audit_events,
        },
        "pages": results,
    }


def export(env: BenchEnv, data: PortalData) -> dict[str, Any]:
    from audit.models import AuditEvent

    events = AuditEvent.objects.count()
    child = run_child(env, "export", "--user-id", str(data.users[PEOPLE.admin]))
    return {"events": events, **child}
