"""The sandbox against Okta's published contract: routes exist in the spec, error codes and
event types come from Okta's catalogs, and every operation's answers validate against the spec
(the ``okta`` fixture validates each call in the other test modules too)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from okta.sandbox.api import ROUTES
from okta.sandbox.errors import CATALOG
from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from okta.sandbox.server import Sandbox
from okta.sandbox.store import HOOK_ELIGIBLE
from tests.okta.sandbox import contract
from tests.okta.sandbox.conftest import answer, asgi_get

SHARED = Path(__file__).resolve().parents[4] / "shared" / "okta"
MAYA = acme_user_id("maya.chen@acme.com")
JOHN = acme_user_id("john.doe@acme.com")
FINANCE = acme_group_id("Finance")


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_contract_every_sandbox_route_is_an_okta_operation(okta_openapi: Any) -> None:
    spec_paths = contract._load()["paths"]
    operations = {
        (normalise(path), method.upper())
        for path, item in spec_paths.items()
        for method in item
        if method in contract.METHODS
    }
    for route in ROUTES:
        for method in route.methods or ():
            if method == "HEAD":
                continue
            path = route.path.replace("{action}", "activate")
            assert (normalise(path), method) in operations, (method, route.path)


def test_contract_error_codes_match_okta_catalog() -> None:
    catalog = {
        e["errorCode"]: e for e in json.loads((SHARED / "error-codes.json").read_text())["errors"]
    }
    for code, (status, summary) in CATALOG.items():
        assert catalog[code]["statusCode"] == status, code
        assert catalog[code]["errorSummary"] == summary, code


def test_contract_hook_eligible_event_types_match_okta_catalog() -> None:
    data = json.loads((SHARED / "event-types.json").read_text())
    eligible = {
        e["id"]
        for version in data["versions"]
        for e in version["eventTypes"]
        if "event-hook-eligible" in e["tags"]
    }
    assert eligible >= HOOK_ELIGIBLE


def test_contract_overlay_only_adds_responses() -> None:
    raw = {
        "openapi": "3.0.3",
        "servers": [{"url": "https://{yourOktaDomain}"}],
        "paths": {
            "/x": {
                "post": {"responses": {"200": {"description": "ok", "content": {}}}},
                "delete": {"responses": {"204": {"description": "gone", "content": {}}}},
            }
        },
        "components": {"schemas": {"Error": {"type": "object"}}},
    }
    patched = contract.overlay(raw)
    post = patched["paths"]["/x"]["post"]["responses"]
    assert set(post) == {"200", "400", "401"}
    assert post["200"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert "content" not in patched["paths"]["/x"]["delete"]["responses"]["204"]
    assert patched["components"] == raw["components"]


# One call per operation the sandbox serves, each validated by the ``okta`` fixture.
OPERATIONS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/users?limit=5", None),
    ("GET", '/api/v1/users?search=profile.department%20eq%20"Finance"', None),
    ("GET", '/api/v1/users?filter=status%20eq%20"ACTIVE"&limit=3', None),
    ("GET", "/api/v1/users?q=ma", None),
    ("GET", f"/api/v1/users/{MAYA}", None),
    ("GET", "/api/v1/users/me", None),
    (
        "POST",
        "/api/v1/users?activate=false",
        {
            "profile": {
                "firstName": "C",
                "lastName": "T",
                "email": "c.t@acme.com",
                "login": "c.t@acme.com",
            }
        },
    ),
    ("POST", f"/api/v1/users/{MAYA}", {"profile": {"nickName": "May"}}),
    (
        "PUT",
        f"/api/v1/users/{JOHN}",
        {
            "profile": {
                "firstName": "John",
                "lastName": "Doe",
                "email": "john.doe@acme.com",
                "login": "john.doe@acme.com",
            }
        },
    ),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/unsuspend", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_password?sendEmail=false", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/expire_password", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/expire_password_with_temp_password", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_factors", None),
    ("DELETE", f"/api/v1/users/{MAYA}/sessions?oauthTokens=true", None),
    ("GET", f"/api/v1/users/{MAYA}/groups", None),
    ("GET", f"/api/v1/users/{MAYA}/roles", None),
    ("GET", "/api/v1/iam/assignees/users", None),
    ("POST", f"/api/v1/users/{JOHN}/lifecycle/deactivate", None),
    ("POST", f"/api/v1/users/{JOHN}/lifecycle/activate?sendEmail=false", None),
    ("DELETE", f"/api/v1/users/{JOHN}", None),
    ("GET", "/api/v1/groups?limit=5", None),
    ("GET", '/api/v1/groups?filter=type%20eq%20"BUILT_IN"', None),
    ("GET", f"/api/v1/groups/{FINANCE}?expand=stats", None),
    ("POST", "/api/v1/groups", {"profile": {"name": "Contract", "description": "c"}}),
    ("PUT", f"/api/v1/groups/{FINANCE}", {"profile": {"name": "Finance", "description": "Money"}}),
    ("GET", f"/api/v1/groups/{FINANCE}/users?limit=5", None),
    ("GET", f"/api/v1/groups/{acme_group_id('Engineering')}/apps", None),
    ("PUT", f"/api/v1/groups/{FINANCE}/users/{MAYA}", None),
    ("DELETE", f"/api/v1/groups/{FINANCE}/users/{MAYA}", None),
    ("DELETE", f"/api/v1/groups/{acme_group_id('Contractors')}", None),
    ("GET", "/api/v1/apps?limit=5", None),
    ("GET", f'/api/v1/apps?filter=user.id%20eq%20"{MAYA}"', None),
    ("GET", f"/api/v1/apps/{acme_app_id('Notion')}", None),
    ("GET", f"/api/v1/apps/{acme_app_id('Jira')}", None),
    ("GET", f"/api/v1/apps/{acme_app_id('Slack')}/users?limit=5", None),
    ("POST", f"/api/v1/apps/{acme_app_id('Figma')}/users", {"id": MAYA, "scope": "USER"}),
    ("GET", f"/api/v1/apps/{acme_app_id('Figma')}/users/{MAYA}", None),
    ("DELETE", f"/api/v1/apps/{acme_app_id('Figma')}/users/{MAYA}", None),
    ("GET", f"/api/v1/apps/{acme_app_id('Salesforce')}/groups", None),
    ("GET", "/api/v1/logs?limit=50", None),
    ("GET", "/api/v1/eventHooks", None),
    # errors
    ("GET", "/api/v1/users/00uNOPE0000000000000", None),
    ("GET", "/api/v1/users?search=((", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/unsuspend", None),
    ("POST", f"/api/v1/users/{MAYA}/lifecycle/activate", None),
    ("PUT", f"/api/v1/groups/{acme_group_id('Everyone')}/users/{MAYA}", None),
    ("POST", "/api/v1/groups", {"profile": {}}),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=lambda v: str(v)[:60])
def test_contract_operation_answers_validate(okta: Any, method: str, path: str, body: Any) -> None:
    response = okta(method, path, body)
    assert okta.checked == 1
    assert response.status < 500


def test_contract_unauthorized_and_rate_limited_answers_validate(
    okta: Any, okta_sandbox: Any
) -> None:
    assert okta("GET", "/api/v1/groups", headers={"Authorization": "SSWS nope"}).status == 401
    okta_sandbox.set_faults(rate_429=1.0)
    assert okta("GET", "/api/v1/groups").status == 429


def test_contract_jwks_registration_picks_the_key_by_kid(okta_sandbox: Any) -> None:
    from tests.okta.sandbox.test_auth import assertion, form_for, token_request

    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    jwks: dict[str, list[dict[str, Any]]] = {"keys": []}
    for index, key in enumerate(keys):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk["kid"] = f"k{index}"
        jwks["keys"].append(jwk)
    okta_sandbox.register_oauth_client("0oaJwks", jwks, ["okta.users.read"])
    signed = jwt.encode(
        jwt.decode(
            assertion(okta_sandbox, keys[1], client_id="0oaJwks"),
            options={"verify_signature": False},
        ),
        keys[1],
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert token_request(okta_sandbox, form_for(signed))[0] == 200


def test_server_unexpected_error_is_okta_500_not_a_stack_trace(monkeypatch: Any) -> None:
    sandbox = Sandbox(org_name="empty", token="t", base_url="http://127.0.0.1:1")

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox.org, "user", explode)
    sent: list[dict[str, Any]] = []
    with pytest.raises(RuntimeError):  # re-raised for the server log after the answer is sent
        asgi_get(sandbox, "/api/v1/users/someone", sent, headers=[(b"authorization", b"SSWS t")])
    status, body = answer(sent)
    assert status == 500
    assert body["errorCode"] == "E0000009"
    assert "boom" not in json.dumps(body)
