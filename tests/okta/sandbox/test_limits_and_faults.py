"""Rate limits (per bucket, per minute; concurrency) and injected faults (latency, 5xx, 429,
dropped connections, deterministic under a seed; permanent refusals with Okta's 4xx errors),
each holding until cleared or spent after ``count`` requests."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from okta.sandbox.seed import acme_group_id, acme_user_id

MAYA = acme_user_id("maya.chen@acme.com")


def test_rate_limit_headers_on_every_response(okta: Any) -> None:
    for response in (
        okta("GET", "/api/v1/users?limit=1"),
        okta("GET", "/api/v1/users/00uNOPE0000000000000"),
        okta("PUT", f"/api/v1/groups/{'00gNOPE0000000000000'}/users/{MAYA}"),
    ):
        assert int(response.headers["x-rate-limit-limit"]) > 0
        assert int(response.headers["x-rate-limit-remaining"]) >= 0
        assert int(response.headers["x-rate-limit-reset"]) > time.time()
        assert response.headers["x-okta-request-id"]


def test_rate_limit_per_bucket_gives_429_with_okta_headers(okta: Any, okta_sandbox: Any) -> None:
    okta_sandbox.set_rate_limits({"/api/v1/users": 3})
    remaining = [
        int(okta("GET", "/api/v1/users?limit=1").headers["x-rate-limit-remaining"])
        for _ in range(3)
    ]
    assert remaining == [2, 1, 0]
    limited = okta("GET", "/api/v1/users?limit=1")
    assert limited.status == 429
    assert limited.body["errorCode"] == "E0000047"
    assert limited.headers["x-rate-limit-limit"] == "3"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    reset = int(limited.headers["x-rate-limit-reset"])
    assert time.time() < reset <= time.time() + 61
    assert parsedate_to_datetime(limited.headers["date"])
    # Other buckets are not affected.
    assert okta("GET", f"/api/v1/users/{MAYA}").status == 200
    assert okta("GET", "/api/v1/groups?limit=1").status == 200
    assert okta_sandbox.counters()["rate_limited"] == 1


def test_rate_limit_concurrency_gives_429(okta_sandbox: Any) -> None:
    okta_sandbox.set_rate_limits(concurrency=2)
    okta_sandbox.set_faults(latency_ms=400, path_prefix="/api/v1/users")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: okta_sandbox.api("GET", "/api/v1/users?limit=1"), range(6))
        )
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) >= 2
    assert 429 in statuses
    limited = next(r for r in results if r.status == 429)
    assert limited.body["errorCode"] == "E0000047"
    assert "date" in limited.headers
    assert okta_sandbox.counters()["concurrency_limited"] == statuses.count(429)


def test_faults_latency_delays_answers(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(latency_ms=300, path_prefix="/api/v1/groups")
    started = time.monotonic()
    assert okta_sandbox.api("GET", "/api/v1/groups?limit=1").status == 200
    assert time.monotonic() - started >= 0.3
    okta_sandbox.api("GET", "/api/v1/users?limit=1")  # outside the rule's path: not delayed
    [rule] = okta_sandbox.control("GET", "faults")["rules"]
    assert rule["fired"] == 1


def test_faults_server_errors_have_okta_body(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(error_rate=1.0, error_status=503)
    response = okta_sandbox.api("GET", "/api/v1/users?limit=1")
    assert response.status == 503
    assert response.body["errorCode"] == "E0000009"
    assert response.headers["x-okta-request-id"]
    assert okta_sandbox.counters()["server_errors"] == 1


def test_faults_rate_429_has_headers(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(rate_429=1.0)
    response = okta_sandbox.api("GET", "/api/v1/users?limit=1")
    assert response.status == 429
    assert response.body["errorCode"] == "E0000047"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert int(response.headers["x-rate-limit-reset"]) > time.time()
    assert "date" in response.headers


def test_faults_dropped_connection_gets_no_response(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(drop_rate=1.0, path_prefix="/api/v1/apps")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        okta_sandbox.api("GET", "/api/v1/apps")
    assert okta_sandbox.api("GET", "/api/v1/users?limit=1").status == 200
    assert okta_sandbox.counters()["dropped"] == 1


def test_faults_scoped_to_method(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(error_rate=1.0, method="POST", path_prefix="/api/v1/users")
    assert okta_sandbox.api("GET", f"/api/v1/users/{MAYA}").status == 200
    assert okta_sandbox.api("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend").status == 500
    assert okta_sandbox.user_state(MAYA)["status"] == "ACTIVE"


def test_faults_are_deterministic_under_a_seed(okta_sandbox: Any) -> None:
    def statuses() -> list[int]:
        okta_sandbox.set_faults(error_rate=0.3, rate_429=0.2, seed=42)
        return [okta_sandbox.api("GET", "/api/v1/groups?limit=1").status for _ in range(30)]

    first = statuses()
    second = statuses()
    assert first == second
    assert {200, 429, 500} <= set(first)


def test_faults_clear_restores_normal_answers(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(error_rate=1.0)
    okta_sandbox.clear_faults()
    assert okta_sandbox.control("GET", "faults") == {"rules": []}
    assert okta_sandbox.api("GET", "/api/v1/users?limit=1").status == 200


def test_faults_bad_settings_are_refused(okta_sandbox: Any) -> None:
    response = okta_sandbox._call("POST", "/__sandbox__/faults", {"error_rate": 3}, auth=False)
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"
    unknown = okta_sandbox._call("POST", "/__sandbox__/faults", {"explode": True}, auth=False)
    assert unknown.status == 400


def test_faults_without_their_own_seed_use_the_server_seed() -> None:
    from okta.sandbox.server import FaultRule

    first = FaultRule.from_json({"error_rate": 0.5}, default_seed=7)
    second = FaultRule.from_json({"error_rate": 0.5}, default_seed=7)
    assert [first.rng.random() for _ in range(5)] == [second.rng.random() for _ in range(5)]


def test_faults_refusal_answers_a_permanent_okta_error_and_changes_nothing(
    okta: Any, okta_sandbox: Any
) -> None:
    backend = acme_group_id("Engineering - Backend")
    okta_sandbox.set_faults(
        refuse_code="E0000006", method="PUT", path_prefix=f"/api/v1/groups/{backend}/users"
    )
    refused = okta("PUT", f"/api/v1/groups/{backend}/users/{MAYA}")
    assert refused.status == 403
    assert refused.body["errorCode"] == "E0000006"
    assert refused.body["errorSummary"] == (
        "You do not have permission to perform the requested action"
    )
    assert refused.body["errorId"].startswith("oae")
    assert refused.headers["x-okta-request-id"]
    assert int(refused.headers["x-rate-limit-remaining"]) >= 0
    assert "Engineering - Backend" not in okta_sandbox.user_state(MAYA)["groups"]
    # Outside the rule's path and method, answers are normal.
    assert okta("GET", f"/api/v1/groups/{backend}/users").status == 200
    counters = okta_sandbox.counters()
    assert counters["refused"] == 1
    assert counters["writes"] == 0


def test_faults_refusal_carries_detail_and_error_causes(okta: Any, okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(
        refuse_code="E0000001",
        refuse_detail="login: An object with this field already exists",
        refuse_causes=[
            "login: An object with this field already exists in the current organization"
        ],
        method="POST",
        path_prefix="/api/v1/users",
    )
    profile = {"firstName": "New", "lastName": "Person", "email": "new@acme.com"}
    refused = okta("POST", "/api/v1/users", {"profile": {**profile, "login": "new@acme.com"}})
    assert refused.status == 400
    assert refused.body["errorCode"] == "E0000001"
    assert refused.body["errorSummary"] == (
        "Api validation failed: login: An object with this field already exists"
    )
    assert refused.body["errorCauses"] == [
        {
            "errorSummary": "login: An object with this field already exists in the current organization"
        }
    ]
    assert okta_sandbox.api("GET", "/api/v1/users/new@acme.com").status == 404


def test_faults_refusal_holds_until_cleared(okta_sandbox: Any) -> None:
    backend = acme_group_id("Engineering - Backend")
    okta_sandbox.set_faults(refuse_code="E0000006", method="PUT")
    path = f"/api/v1/groups/{backend}/users/{MAYA}"
    assert [okta_sandbox.api("PUT", path).status for _ in range(3)] == [403, 403, 403]
    okta_sandbox.clear_faults()
    assert okta_sandbox.api("PUT", path).status == 204
    assert "Engineering - Backend" in okta_sandbox.user_state(MAYA)["groups"]


def test_faults_count_spends_a_rule_after_that_many_requests(okta_sandbox: Any) -> None:
    backend = acme_group_id("Engineering - Backend")
    okta_sandbox.set_faults(
        rules=[
            {"refuse_code": "E0000038", "method": "PUT", "count": 2},
            {"error_rate": 1.0, "path_prefix": "/api/v1/apps", "count": 1},
        ]
    )
    path = f"/api/v1/groups/{backend}/users/{MAYA}"
    assert [okta_sandbox.api("PUT", path).status for _ in range(3)] == [403, 403, 204]
    assert [okta_sandbox.api("GET", "/api/v1/apps").status for _ in range(2)] == [500, 200]
    rules = okta_sandbox.control("GET", "faults")["rules"]
    assert [(rule["count"], rule["fired"]) for rule in rules] == [(2, 2), (1, 1)]
    counters = okta_sandbox.counters()
    assert (counters["refused"], counters["server_errors"]) == (2, 1)


@pytest.mark.parametrize(
    "rule",
    [
        {"refuse_code": "E0000047"},  # a 429 is transient, not a refusal
        {"refuse_code": "E0000009"},  # a 500 too
        {"refuse_code": "E9999999"},
        {"refuse_code": "E0000006", "error_rate": 0.5},
        {"refuse_detail": "no code"},
        {"refuse_code": "E0000001", "refuse_causes": "not a list"},
        {"refuse_code": "E0000006", "count": 0},
        {"error_rate": 1.0, "count": "many"},
    ],
    ids=str,
)
def test_faults_bad_refusal_settings_are_refused(okta_sandbox: Any, rule: dict[str, Any]) -> None:
    response = okta_sandbox._call("POST", "/__sandbox__/faults", rule, auth=False)
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"
    assert okta_sandbox.control("GET", "faults") == {"rules": []}


# --- the okta-workforce profile: Okta's published numbers ------------------------------------

GROUP = acme_group_id("Engineering")


def test_limit_profile_okta_workforce_answers_with_okta_numbers(
    okta: Any, okta_sandbox: Any
) -> None:
    shown = okta_sandbox.set_limit_profile("okta-workforce")
    assert shown["profile"] == "okta-workforce"
    assert shown["concurrency"] == 75
    assert shown["default_per_minute"] == 1_200
    app = okta("GET", "/api/v1/apps?limit=1").body[0]["id"]
    limits = {
        "/api/v1/users?limit=1": "600",
        f"/api/v1/users/{MAYA}": "2000",  # one user: its own bucket
        "/api/v1/groups?limit=1": "500",
        f"/api/v1/groups/{GROUP}": "1000",
        f"/api/v1/groups/{GROUP}/users?limit=1": "1000",
        f"/api/v1/apps/{app}": "500",
        f"/api/v1/apps/{app}/users?limit=1": "100",  # under an app: with /api/v1/apps
        "/api/v1/logs?limit=1": "120",
        "/api/v1/eventHooks": "1200",  # not in Okta's table: "most other API actions"
    }
    for path, limit in limits.items():
        response = okta("GET", path)
        assert response.status == 200, path
        assert response.headers["x-rate-limit-limit"] == limit, path
    suspend = okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    assert suspend.headers["x-rate-limit-limit"] == "600"  # writes to one user


def test_limit_profile_bucket_answers_429_once_its_minute_is_spent(
    okta: Any, okta_sandbox: Any
) -> None:
    okta_sandbox.set_limit_profile("okta-workforce")
    answers = [okta("GET", "/api/v1/logs?limit=1") for _ in range(120)]
    assert [a.status for a in answers] == [200] * 120
    assert answers[-1].headers["x-rate-limit-remaining"] == "0"
    limited = okta("GET", "/api/v1/logs?limit=1")
    assert limited.status == 429
    assert limited.body["errorCode"] == "E0000047"
    assert limited.headers["x-rate-limit-limit"] == "120"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert time.time() < int(limited.headers["x-rate-limit-reset"]) <= time.time() + 61
    assert okta("GET", "/api/v1/users?limit=1").status == 200  # another bucket still answers


def test_limit_profile_concurrency_cap_answers_429_past_75_in_flight(okta_sandbox: Any) -> None:
    okta_sandbox.set_limit_profile("okta-workforce")
    okta_sandbox.set_faults(latency_ms=4000, path_prefix="/api/v1/groups")
    gate = threading.Barrier(80)

    def call(_: int) -> Any:
        gate.wait()
        return okta_sandbox.api("GET", "/api/v1/groups?limit=1")

    with ThreadPoolExecutor(max_workers=80) as pool:
        results = list(pool.map(call, range(80)))
    statuses = [r.status for r in results]
    assert statuses.count(200) == 75
    assert statuses.count(429) == 5
    limited = next(r for r in results if r.status == 429)
    assert limited.body["errorCode"] == "E0000047"
    assert limited.headers["x-rate-limit-limit"] == "75"
    assert okta_sandbox.counters()["concurrency_limited"] == 5


def test_limit_profile_reset_restores_the_startup_profile_and_bad_names_are_refused(
    okta_sandbox: Any,
) -> None:
    okta_sandbox.set_limit_profile("okta-workforce")
    okta_sandbox.set_rate_limits({"/api/v1/logs": 5})
    assert okta_sandbox.control("GET", "rate-limits")["profile"] == "custom"
    okta_sandbox.reset()
    assert okta_sandbox.control("GET", "rate-limits") == {
        "profile": "unlimited",
        "per_minute": {},
        "default_per_minute": 100_000,
        "concurrency": 75,
    }
    refused = okta_sandbox._call(
        "POST", "/__sandbox__/rate-limits", {"profile": "okta-free"}, auth=False
    )
    assert refused.status == 400
    assert refused.body["errorCode"] == "E0000001"
    [cause] = refused.body["errorCauses"]
    assert "choose one of unlimited, okta-workforce" in cause["errorSummary"]
    assert okta_sandbox.control("GET", "rate-limits")["profile"] == "unlimited"


def test_limit_profile_names_are_the_same_in_the_command_line() -> None:
    from okta.sandbox.cli import LIMITS
    from okta.sandbox.server import LIMIT_PROFILES, SCOPES_BY_BUCKET

    assert tuple(LIMIT_PROFILES) == LIMITS
    # A bucket the scope check does not know would let an OAuth token without the scope in.
    assert set(LIMIT_PROFILES["okta-workforce"].per_minute) <= set(SCOPES_BY_BUCKET)
