"""Every request the client can make is valid against Okta's OpenAPI spec (paths, query, bodies)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest

from okta.client import OktaClient
from tests.okta.sandbox import contract

ORG = "https://acme.okta.test"
USER = {"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@acme.test"}}
GROUP = {"id": "00g1", "type": "OKTA_GROUP", "profile": {"name": "G", "description": ""}}
APP = {"id": "0oa1", "name": "app", "label": "App", "status": "ACTIVE"}
HOOK = {"id": "who1", "name": "h", "status": "ACTIVE", "events": {"items": []}, "channel": {}}


def answer(request: httpx.Request) -> httpx.Response:
    """A plausible body for each path, enough for the client to parse."""
    path, method = request.url.path, request.method
    if method == "DELETE" or path.endswith(("/lifecycle/suspend", "/lifecycle/unsuspend")):
        return httpx.Response(204)
    if "/users/" in path and path.startswith("/api/v1/groups/"):
        return httpx.Response(204)
    if path.startswith("/api/v1/groups/") and path.endswith("/users"):
        return httpx.Response(200, json=[USER])
    if path.endswith("/reset_password"):
        return httpx.Response(200, json={"resetPasswordUrl": f"{ORG}/reset"})
    if path.endswith("/expire_password_with_temp_password"):
        return httpx.Response(200, json={"tempPassword": "x"})
    if "/lifecycle/" in path and path.startswith("/api/v1/users"):
        return httpx.Response(200, json={})
    if path.startswith("/api/v1/eventHooks"):
        return httpx.Response(
            200, json=[HOOK] if path.endswith("eventHooks") and method == "GET" else HOOK
        )
    if path.endswith("/roles"):
        return httpx.Response(200, json=[{"id": "ra1", "type": "SUPER_ADMIN"}])
    if path == "/api/v1/iam/assignees/users":
        return httpx.Response(200, json={"value": [{"id": "00u1"}]})
    if path.startswith("/api/v1/apps/") and "/users" in path:
        return httpx.Response(
            200,
            json=[{"id": "00u1", "scope": "USER"}]
            if method == "GET" and path.endswith("users")
            else {"id": "00u1", "scope": "USER"},
        )
    if path.startswith("/api/v1/apps"):
        return httpx.Response(200, json=[APP] if path == "/api/v1/apps" else APP)
    if path.startswith("/api/v1/logs"):
        return httpx.Response(200, json=[])
    if path.startswith("/api/v1/groups") or path.endswith("/groups"):
        listing = path in ("/api/v1/groups",) or (path.endswith("/groups") and method == "GET")
        return httpx.Response(200, json=[GROUP] if listing and method == "GET" else GROUP)
    if path == "/api/v1/users" and method == "GET":
        return httpx.Response(200, json=[USER])
    if path.endswith("/users") and method == "GET":
        return httpx.Response(200, json=[USER])
    return httpx.Response(200, json=USER)


CALLS: list[tuple[str, Callable[[OktaClient], Any]]] = [
    ("get user", lambda c: c.get_user("00u1")),
    ("get me", lambda c: c.get_user("me")),
    ("list users", lambda c: list(c.iter_users(search='status eq "ACTIVE"'))),
    (
        "user pages",
        lambda c: list(c.user_pages(filter='lastUpdated gt "2025-01-01T00:00:00.000Z"')),
    ),
    (
        "create user",
        lambda c: c.create_user(
            {"login": "a@acme.test", "email": "a@acme.test", "firstName": "A", "lastName": "B"},
            activate=False,
            next_login_change_password=True,
        ),
    ),
    ("update user", lambda c: c.update_user("00u1", {"title": "Boss"})),
    ("activate", lambda c: c.activate_user("00u1", send_email=False)),
    ("reactivate", lambda c: c.reactivate_user("00u1", send_email=False)),
    ("deactivate", lambda c: c.deactivate_user("00u1")),
    ("suspend", lambda c: c.suspend_user("00u1")),
    ("unsuspend", lambda c: c.unsuspend_user("00u1")),
    ("unlock", lambda c: c.unlock_user("00u1")),
    ("reset password", lambda c: c.reset_password("00u1", send_email=False)),
    ("expire password", lambda c: c.expire_password("00u1")),
    ("expire with temp", lambda c: c.expire_password_with_temp_password("00u1")),
    ("reset factors", lambda c: c.reset_factors("00u1")),
    ("delete user", lambda c: c.delete_user("00u1")),
    ("clear sessions", lambda c: c.clear_sessions("00u1")),
    ("user groups", lambda c: c.list_user_groups("00u1")),
    ("user roles", lambda c: c.list_user_roles("00u1")),
    ("role assignees", lambda c: list(c.iter_role_assignees())),
    ("user apps", lambda c: c.list_user_apps("00u1")),
    ("get group", lambda c: c.get_group("00g1")),
    ("list groups", lambda c: list(c.iter_groups(q="G"))),
    ("group pages", lambda c: list(c.group_pages(filter='type eq "OKTA_GROUP"'))),
    ("create group", lambda c: c.create_group("G", "desc")),
    ("update group", lambda c: c.update_group("00g1", name="G", description="d")),
    ("delete group", lambda c: c.delete_group("00g1")),
    ("group members", lambda c: list(c.iter_group_members("00g1"))),
    ("add member", lambda c: c.add_group_member("00g1", "00u1")),
    ("remove member", lambda c: c.remove_group_member("00g1", "00u1")),
    ("get app", lambda c: c.get_app("0oa1")),
    ("list apps", lambda c: list(c.iter_apps())),
    ("app users", lambda c: list(c.iter_app_users("0oa1"))),
    ("app user", lambda c: c.get_app_user("0oa1", "00u1")),
    ("assign app", lambda c: c.assign_app_user("0oa1", "00u1")),
    ("unassign app", lambda c: c.unassign_app_user("0oa1", "00u1")),
    ("logs", lambda c: list(c.iter_logs(since="2025-01-01T00:00:00Z", filter='eventType eq "x"'))),
    (
        "create hook",
        lambda c: c.create_event_hook(
            name="h",
            url="https://gh.test/hook",
            events=["group.user_membership.add"],
            auth_value="s",
        ),
    ),
    ("get hook", lambda c: c.get_event_hook("who1")),
    ("list hooks", lambda c: c.list_event_hooks()),
    ("activate hook", lambda c: c.activate_event_hook("who1")),
    ("deactivate hook", lambda c: c.deactivate_event_hook("who1")),
    ("verify hook", lambda c: c.verify_event_hook("who1")),
    ("delete hook", lambda c: c.delete_event_hook("who1")),
]


@pytest.fixture(scope="module")
def spec() -> Any:
    return contract.openapi()


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
def test_client_request_matches_the_spec(spec: Any, name: str, call: Any) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    with OktaClient(ORG, token="t", transport=httpx.MockTransport(handler)) as client:
        call(client)
    assert sent
    for request in sent:
        body = request.content or None
        mock = MockRequest(
            host_url=ORG,
            method=request.method.lower(),
            path=request.url.path,
            args=dict(parse_qsl(request.url.query.decode())),
            headers=dict(request.headers),
            data=body,
            content_type="application/json",
        )
        spec.validate_request(mock)
        if body:
            json.loads(body)


def test_contract_check_catches_a_bad_request(spec: Any) -> None:
    """The check above has teeth: a wrong method, path or parameter type is refused."""
    bad = [
        MockRequest(ORG, "post", "/api/v1/groups/00g1/users/00u1", headers={"Authorization": "t"}),
        MockRequest(ORG, "get", "/api/v1/userz", headers={"Authorization": "t"}),
        MockRequest(
            ORG, "get", "/api/v1/users", args={"limit": "many"}, headers={"Authorization": "t"}
        ),
    ]
    for request in bad:
        with pytest.raises(OpenAPIError):  # the base of openapi-core's refusals
            spec.validate_request(request)
