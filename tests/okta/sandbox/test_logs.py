"""System Log: every write produces its LogEvent with a real event type; since/until/filter/q/
after/limit/sortOrder; the seeded history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from tests.okta.sandbox.test_users import next_link, path_of

MAYA = acme_user_id("maya.chen@acme.com")
CATALOG = Path(__file__).resolve().parents[4] / "shared" / "okta" / "event-types.json"


def event_types_in_catalog() -> set[str]:
    data = json.loads(CATALOG.read_text())
    return {e["id"] for version in data["versions"] for e in version["eventTypes"]}


def newest(okta: Any, limit: int = 10) -> list[dict[str, Any]]:
    return okta("GET", f"/api/v1/logs?sortOrder=DESCENDING&limit={limit}").body


def test_logs_seeded_history_uses_catalog_event_types(okta: Any) -> None:
    events = okta("GET", "/api/v1/logs?since=2000-01-01T00:00:00Z&limit=1000").body
    assert len(events) == 1000
    kinds = {e["eventType"] for e in events}
    assert kinds <= event_types_in_catalog()
    assert {"user.lifecycle.create", "group.user_membership.add"} <= kinds


WRITES = [
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend", None, "user.lifecycle.suspend"),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/deactivate", None, "user.lifecycle.deactivate"),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_password", None, "user.account.reset_password"),
    (
        "POST",
        f"/api/v1/users/{MAYA}/lifecycle/expire_password",
        None,
        "user.account.expire_password",
    ),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_factors", None, "user.mfa.factor.reset_all"),
    ("DELETE", f"/api/v1/users/{MAYA}/sessions", None, "user.session.clear"),
    ("POST", f"/api/v1/users/{MAYA}", {"profile": {"title": "x"}}, "user.account.update_profile"),
    (
        "PUT",
        f"/api/v1/groups/{acme_group_id('Finance')}/users/{MAYA}",
        None,
        "group.user_membership.add",
    ),
    (
        "DELETE",
        f"/api/v1/groups/{acme_group_id('Engineering')}/users/{MAYA}",
        None,
        "group.user_membership.remove",
    ),
    ("POST", "/api/v1/groups", {"profile": {"name": "Log Test"}}, "group.lifecycle.create"),
    (
        "PUT",
        f"/api/v1/groups/{acme_group_id('Sales')}",
        {"profile": {"name": "Sales"}},
        "group.profile.update",
    ),
    ("DELETE", f"/api/v1/groups/{acme_group_id('Contractors')}", None, "group.lifecycle.delete"),
    (
        "POST",
        f"/api/v1/apps/{acme_app_id('Figma')}/users",
        {"id": MAYA, "scope": "USER"},
        "application.user_membership.add",
    ),
    (
        "DELETE",
        f"/api/v1/apps/{acme_app_id('Notion')}/users/{MAYA}",
        None,
        "application.user_membership.remove",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "event_type"), WRITES)
def test_logs_every_write_produces_its_event(
    okta: Any, method: str, path: str, body: Any, event_type: str
) -> None:
    response = okta(method, path, body)
    assert response.status in (200, 204), response.body
    event = newest(okta, 1)[0]
    assert event["eventType"] == event_type
    assert event_type in event_types_in_catalog()
    assert event["actor"]["alternateId"] == "gatehouse.api@acme.com"
    assert event["outcome"]["result"] == "SUCCESS"
    assert event["uuid"] and event["published"]
    assert event["target"]
    assert event["transaction"]["id"] == response.headers["x-okta-request-id"]


def test_logs_user_create_logs_create_then_activate(okta: Any) -> None:
    body = {
        "profile": {
            "firstName": "L",
            "lastName": "G",
            "email": "l.g@acme.com",
            "login": "l.g@acme.com",
        },
        "credentials": {"password": {"value": "A-Long-Password-1"}},
    }
    okta("POST", "/api/v1/users", body)
    kinds = [e["eventType"] for e in newest(okta, 2)]
    assert kinds == ["user.lifecycle.activate", "user.lifecycle.create"]


def test_logs_refused_write_logs_nothing(okta: Any) -> None:
    before = newest(okta, 1)[0]["uuid"]
    okta("PUT", f"/api/v1/groups/{acme_group_id('Everyone')}/users/{MAYA}")
    assert newest(okta, 1)[0]["uuid"] == before


def test_logs_filter_and_q(okta: Any) -> None:
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    by_target = okta(
        "GET",
        f'/api/v1/logs?filter=target.id%20eq%20"{MAYA}"%20and%20eventType%20eq%20"user.lifecycle.suspend"',
    ).body
    assert len(by_target) == 1
    by_words = okta("GET", "/api/v1/logs?q=suspend%20maya.chen").body
    assert [e["uuid"] for e in by_words] == [by_target[0]["uuid"]]
    bad = okta("GET", "/api/v1/logs?filter=eventType%20eq")
    assert bad.status == 400
    assert bad.body["errorCode"] == "E0000031"


def test_logs_since_until_and_sort_order(okta: Any) -> None:
    since = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ascending = okta("GET", f"/api/v1/logs?since={since}&until={until}&limit=1000").body
    assert ascending
    published = [e["published"] for e in ascending]
    assert published == sorted(published)
    assert published[0] >= since[:19] and published[-1] < until[:19] + "Z"
    descending = okta(
        "GET", f"/api/v1/logs?since={since}&until={until}&limit=1000&sortOrder=DESCENDING"
    ).body
    assert [e["uuid"] for e in descending] == [e["uuid"] for e in reversed(ascending)]
    bad = okta("GET", "/api/v1/logs?since=yesterday")
    assert bad.status == 400
    assert bad.body["errorCode"] == "E0000001"


def test_logs_after_cursor_pages_without_gaps(okta: Any, okta_sandbox: Any) -> None:
    since = "2000-01-01T00:00:00Z"
    until = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    everything = okta("GET", f"/api/v1/logs?since={since}&until={until}&limit=1000").body
    paged: list[str] = []
    response = okta("GET", f"/api/v1/logs?since={since}&until={until}&limit=300")
    while True:
        paged.extend(e["uuid"] for e in response.body)
        url = next_link(response)
        if url is None:
            break
        response = okta("GET", path_of(url, okta_sandbox.url))
    assert paged[: len(everything)] == [e["uuid"] for e in everything]


def test_logs_polling_without_until_always_has_next_and_sees_new_events(
    okta: Any, okta_sandbox: Any
) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = okta("GET", f"/api/v1/logs?since={since}&limit=100")
    url = next_link(first)
    assert url is not None
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    later = okta("GET", path_of(url, okta_sandbox.url))
    assert [e["eventType"] for e in later.body][-1] == "user.lifecycle.suspend"
    assert next_link(later) is not None


def test_logs_user_delete_logs_deactivate_then_delete_initiated_and_completed(okta: Any) -> None:
    okta("DELETE", f"/api/v1/users/{MAYA}")
    okta("DELETE", f"/api/v1/users/{MAYA}")
    kinds = [e["eventType"] for e in reversed(newest(okta, 3))]
    assert kinds == [
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
        "user.lifecycle.delete.completed",
    ]
    assert set(kinds) <= event_types_in_catalog()
