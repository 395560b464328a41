"""The control API: reset, counters, state, rate limits, lock, loopback-only access; the
server's own edges (unknown paths, wrong methods, errors never as stack traces)."""

from __future__ import annotations

from typing import Any

from okta.governor import bucket_for
from okta.sandbox.seed import acme_user_id
from okta.sandbox.server import Sandbox
from tests.okta.sandbox.conftest import answer, asgi_get

MAYA = acme_user_id("maya.chen@acme.com")


def test_control_reset_restores_the_seed(okta_sandbox: Any) -> None:
    before = okta_sandbox.state()
    okta_sandbox.api("DELETE", f"/api/v1/users/{MAYA}")
    okta_sandbox.api("POST", "/api/v1/groups", {"profile": {"name": "Temp"}})
    okta_sandbox.set_faults(latency_ms=1)
    okta_sandbox.reset()
    assert okta_sandbox.state() == before
    assert okta_sandbox.user_state(MAYA)["status"] == "ACTIVE"
    assert okta_sandbox.control("GET", "faults") == {"rules": []}
    assert okta_sandbox.counters()["requests"] == 0


def test_control_reset_keeps_ids_the_same(okta_sandbox: Any) -> None:
    first = [u["id"] for u in okta_sandbox.api("GET", "/api/v1/users?limit=50").body]
    okta_sandbox.reset()
    assert [u["id"] for u in okta_sandbox.api("GET", "/api/v1/users?limit=50").body] == first


def test_control_counters_count_requests_buckets_and_writes(okta_sandbox: Any) -> None:
    okta_sandbox.api("GET", "/api/v1/users?limit=1")
    okta_sandbox.api("GET", f"/api/v1/users/{MAYA}")
    okta_sandbox.api("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    okta_sandbox.api("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")  # refused: not a write
    counters = okta_sandbox.counters()
    assert counters["requests"] == 4
    assert counters["by_bucket"] == {
        "/api/v1/users": 1,
        "/api/v1/users/{idOrLogin}": 1,  # reading one user is a bucket of its own in Okta
        "/api/v1/users/{id}": 2,
    }
    assert counters["writes"] == 1


def test_control_rate_limits_round_trip(okta_sandbox: Any) -> None:
    okta_sandbox.set_rate_limits({"/api/v1/logs": 60}, default_per_minute=600, concurrency=10)
    assert okta_sandbox.control("GET", "rate-limits") == {
        "profile": "custom",
        "per_minute": {"/api/v1/logs": 60},
        "default_per_minute": 600,
        "concurrency": 10,
    }
    response = okta_sandbox.api("GET", "/api/v1/logs?limit=1")
    assert response.headers["x-rate-limit-limit"] == "60"


def test_control_lock_user_makes_them_locked_out(okta_sandbox: Any) -> None:
    okta_sandbox.lock_user("maya.chen@acme.com")
    assert okta_sandbox.user_state(MAYA)["status"] == "LOCKED_OUT"
    assert okta_sandbox.api("POST", f"/api/v1/users/{MAYA}/lifecycle/unlock").status == 200
    assert okta_sandbox.user_state(MAYA)["status"] == "ACTIVE"


def test_control_user_state_summarises_groups_apps_roles(okta_sandbox: Any) -> None:
    state = okta_sandbox.user_state("jordan.lee@acme.com")
    assert state["roles"] == ["HELP_DESK_ADMIN"]
    assert "Gatehouse Helpdesk" in state["groups"]
    assert "Slack" in state["apps"]


def test_control_reset_can_switch_org(okta_sandbox: Any) -> None:
    okta_sandbox.reset("empty")
    try:
        users = okta_sandbox.api("GET", "/api/v1/users").body
        assert [u["profile"]["login"] for u in users] == ["gatehouse.api@empty.example"]
    finally:
        okta_sandbox.reset("acme")


def test_server_unknown_path_is_404_and_wrong_method_405(okta_sandbox: Any) -> None:
    missing = okta_sandbox.api("GET", "/api/v1/nothing-here")
    assert missing.status == 404
    assert missing.body["errorCode"] == "E0000007"
    wrong = okta_sandbox.api("PATCH", "/api/v1/users")
    assert wrong.status == 405
    assert wrong.body["errorCode"] == "E0000022"


def test_server_bad_query_values_get_okta_errors(okta_sandbox: Any) -> None:
    for path in ("/api/v1/users?limit=abc", "/api/v1/users?activate=maybe"):
        method = "POST" if "activate" in path else "GET"
        response = okta_sandbox.api(method, path, {} if method == "POST" else None)
        assert response.status == 400
        assert response.body["errorCode"] == "E0000001"


def test_bucket_names_follow_okta_families() -> None:
    assert bucket_for("GET", "/api/v1/users") == "/api/v1/users"
    assert bucket_for("GET", f"/api/v1/users/{MAYA}/lifecycle/suspend") == "/api/v1/users/{id}"
    assert bucket_for("GET", f"/api/v1/users/{MAYA}/roles") == "/api/v1/iam"
    assert bucket_for("GET", "/api/v1/groups/00g/users") == "/api/v1/groups/{id}"
    assert bucket_for("GET", f"/api/v1/users/{MAYA}") == "/api/v1/users/{idOrLogin}"
    assert bucket_for("POST", f"/api/v1/users/{MAYA}") == "/api/v1/users/{id}"
    assert bucket_for("GET", "/api/v1/apps/0oa1") == "/api/v1/apps/{id}"
    assert bucket_for("PUT", "/api/v1/apps/0oa1/users/00u1") == "/api/v1/apps"
    assert bucket_for("GET", "/api/v1/logs") == "/api/v1/logs"
    assert bucket_for("GET", "/oauth2/v1/token") == "/oauth2/v1/token"


def test_control_api_is_loopback_only() -> None:
    sandbox = Sandbox(org_name="empty", token="t", base_url="http://127.0.0.1:1")
    status, body = answer(asgi_get(sandbox, "/__sandbox__/state", [], client_host="10.1.2.3"))
    assert status == 403
    assert body["errorCode"] == "E0000006"
    status, body = answer(asgi_get(sandbox, "/__sandbox__/state", []))
    assert status == 200
    assert body["users"] == 1


def test_control_created_ids_repeat_after_a_reset(okta_sandbox: Any) -> None:
    def create() -> tuple[str, str]:
        body = {
            "profile": {
                "firstName": "R",
                "lastName": "P",
                "email": "r@acme.com",
                "login": "r@acme.com",
            }
        }
        user = okta_sandbox.api("POST", "/api/v1/users", body).body["id"]
        group = okta_sandbox.api("POST", "/api/v1/groups", {"profile": {"name": "Repeat"}}).body[
            "id"
        ]
        return user, group

    first = create()
    okta_sandbox.reset()
    assert create() == first
