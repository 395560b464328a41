"""Every REST API route by every portal role, each calling with a token of their own that holds
every scope: what the token's owner may do is exactly what the same person may do in the
browser (tests/security/test_authorization_matrix.py), and someone else's object is a 404.

Outcomes: ``ok`` (2xx), ``401`` (no token), ``deny`` (403), ``404``, ``bad`` (400: the
service refused, with its sentence).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.http.response import HttpResponseBase
from django.test import Client

from api.tokens import token_create
from tests.api.test_api import EVERY_SCOPE
from tests.security.conftest import ROLE_PEOPLE, ROLES, World
from tests.security.urlconf import routes, url_for

# name: (method, JSON body, "anonymous employee other manager approver helpdesk admin auditor")
API_EXPECTED: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "api:catalog_list": ("GET", None, "401 ok ok ok ok ok ok ok"),
    "api:request_list": ("GET", None, "401 ok ok ok ok ok ok ok"),
    "api:request_detail": ("GET", None, "401 ok 404 ok 404 404 ok 404"),
    "api:request_withdraw": ("POST", None, "401 ok 404 404 404 404 404 404"),
    "api:inbox_list": ("GET", None, "401 ok ok ok ok ok ok ok"),
    "api:request_decide": ("POST", {"outcome": "deny"}, "401 404 404 ok 404 404 bad 404"),
    "api:my_access": ("GET", None, "401 ok ok ok ok ok ok ok"),
    "api:grant_list": ("GET", None, "401 deny deny deny deny deny ok deny"),
    "api:audit_events": ("GET", None, "401 deny deny deny deny deny ok ok"),
    "api:operation_list": ("GET", None, "401 deny deny deny deny deny ok deny"),
}
# Asking needs a body that names an item; the world's item is maya's open request already.
SUBMIT = ("api:request_submit", "POST", "401 bad ok ok ok ok ok ok")
NOT_DATA = {"api:api-root", "api:openapi-json"}


def outcome(response: HttpResponseBase) -> str:
    named = {400: "bad", 401: "401", 403: "deny", 404: "404"}
    if response.status_code in named:
        return named[response.status_code]
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


def test_api_matrix_covers_every_api_route() -> None:
    in_urlconf = {r.name for r in routes() if r.name.startswith("api:")} - NOT_DATA
    assert in_urlconf == {*API_EXPECTED, SUBMIT[0]}


def _tokens(world: World) -> dict[str, str | None]:
    tokens: dict[str, str | None] = {"anonymous": None}
    for role, who in ROLE_PEOPLE.items():
        tokens[role] = token_create(
            actor=world.people.u[who],
            name=f"{who} matrix",
            kind="personal",
            scopes=EVERY_SCOPE,
            days=1,
        )[1]
    return tokens


def _call(method: str, url: str, raw: str | None, body: dict[str, Any] | None) -> HttpResponseBase:
    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
    if method == "GET":
        return Client().get(url, headers=headers)
    return Client().post(
        url, json.dumps(body or {}), content_type="application/json", headers=headers
    )


def _check(
    world: World, name: str, method: str, body: dict[str, Any] | None, outcomes: str
) -> None:
    route = next(r for r in routes() if r.name == name)
    url = url_for(route, world)
    tokens = _tokens(world)
    got = {role: outcome(_call(method, url, tokens[role], body)) for role in ROLES}
    want = dict(zip(ROLES, outcomes.split(), strict=True))
    wrong = {
        role: f"got {got[role]}, want {want[role]}" for role in ROLES if got[role] != want[role]
    }
    assert not wrong, f"{method} {url}: {wrong}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_EXPECTED))
def test_api_access_by_role(name: str, world: World) -> None:
    method, body, outcomes = API_EXPECTED[name]
    _check(world, name, method, body, outcomes)


@pytest.mark.django_db
def test_api_submit_by_role(world: World) -> None:
    name, method, outcomes = SUBMIT
    body = {"item_id": world.item.pk, "reason": "on-call", "duration_days": 30}
    _check(world, name, method, body, outcomes)
