"""api: the REST API's writes under concurrent clients, against gunicorn.

``clients`` threads, each with its own keep-alive connection and a token of its own, first ask
for catalog items (``POST /api/v1/requests``: employees' personal tokens, each client a person
asking for items it holds no open request for), then decide every request made
(``POST /api/v1/requests/{id}/decision``: the approvers' tokens; the seeded policy routes each
request to the approver group). Each call goes the whole way: token check, rate limit, the
approvals service in its transaction, its audit events, the ``api.call`` event. Reported: p50 /
p95 of each, calls a second, and any answer that is not the expected 201 / 200.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from typing import Any

from bench.env import BenchEnv
from bench.pages import Gunicorn, percentile
from bench.seed import PEOPLE, PortalData


def _tokens(okta_ids: list[str], scopes: list[str]) -> dict[str, str]:
    from accounts.models import User
    from api.tokens import token_create

    users = {u.okta_id: u for u in User.objects.filter(okta_id__in=okta_ids)}
    return {
        okta_id: token_create(
            actor=users[okta_id], name="bench", kind="personal", scopes=scopes, days=1
        )[1]
        for okta_id in okta_ids
        if okta_id in users
    }


def _run(
    port: int, jobs: queue.Queue[tuple[str, str, dict[str, Any]]], clients: int, expect: int
) -> tuple[list[float], list[int], list[Any], float]:
    latencies: list[float] = []
    unexpected: list[int] = []
    answers: list[Any] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            try:
                token, path, body = jobs.get_nowait()
            except queue.Empty:
                break
            payload = json.dumps(body)
            started = time.perf_counter()
            conn.request(
                "POST",
                path,
                body=payload,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            data = response.read()
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if response.status != expect:
                    unexpected.append(response.status)
                else:
                    answers.append(json.loads(data))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, unexpected, answers, time.perf_counter() - began


def _summary(latencies: list[float], unexpected: list[int], seconds: float) -> dict[str, Any]:
    ms = [t * 1000 for t in latencies]
    return {
        "calls": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 1) if ms else None,
        "p95_ms": round(percentile(ms, 0.95), 1) if ms else None,
        "per_second": round(len(ms) / seconds, 1) if seconds else None,
        "unexpected": len(unexpected),
        "unexpected_statuses": sorted(set(unexpected)),
    }


def run(env: BenchEnv, data: PortalData, *, clients: int, per_client: int) -> dict[str, Any]:
    from approvals.models import AccessRequest, CatalogItem, RequestStatus
    from approvals.services.requests import holds_access

    askers = PEOPLE.employees[:clients]
    ask_tokens = _tokens(askers, ["requests:write"])
    decide_tokens = list(_tokens(PEOPLE.approvers, ["inbox:decide"]).values())
    items = list(
        CatalogItem.objects.published()
        .select_related("group", "app")
        .order_by("pk")[: clients * per_client * 3]
    )
    jobs: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
    for n, okta_id in enumerate(askers):
        held = set(
            AccessRequest.objects.filter(
                subject_id=okta_id,
                status__in=[
                    RequestStatus.PENDING,
                    RequestStatus.APPROVED,
                    RequestStatus.FULFILLING,
                ],
            ).values_list("item_id", flat=True)
        )
        # Items the person may ask for: no open request, and not already theirs in Okta.
        mine = [
            item.pk
            for item in items[n::clients]
            if item.pk not in held and not holds_access(subject_id=okta_id, item=item)
        ][:per_client]
        for pk in mine:
            jobs.put(
                (
                    ask_tokens[okta_id],
                    "/api/v1/requests",
                    {"item_id": pk, "reason": "benchmark", "duration_days": 30},
                )
            )
    # The clients are the load: the per-token limit is not what is measured here.
    with Gunicorn(env, API_RATE_LIMIT="100000/m") as web:
        submit_lat, submit_bad, made, submit_seconds = _run(web.port, jobs, clients, 201)
        for n, answer in enumerate(made):
            jobs.put(
                (
                    decide_tokens[n % len(decide_tokens)],
                    f"/api/v1/requests/{answer['id']}/decision",
                    {"outcome": "approve"},
                )
            )
        decide_lat, decide_bad, _, decide_seconds = _run(web.port, jobs, clients, 200)
    return {
        "clients": clients,
        "submit": _summary(submit_lat, submit_bad, submit_seconds),
        "decide": _summary(decide_lat, decide_bad, decide_seconds),
    }
