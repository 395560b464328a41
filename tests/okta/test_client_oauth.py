"""OAuth 2.0 client credentials with private_key_jwt: assertion, caching, refresh, 401 retry."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache.backends.locmem import LocMemCache

from okta import client as client_module
from okta.client import OktaClient, OktaError

ORG = "https://acme.okta.test"
TOKEN_URL = f"{ORG}/oauth2/v1/token"
USER = {"id": "00u1", "status": "ACTIVE", "profile": {"login": "svc@acme.test"}}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class TokenServer:
    """A fake token endpoint handing out numbered access tokens."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.issued = 0
        self.forms: list[dict[str, str]] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.forms.append(form)
        self.issued += 1
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "access_token": f"at-{self.issued}",
                "scope": form.get("scope", ""),
            },
        )


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=ORG, assert_all_called=False) as router:
        yield router


def oauth_client(pem: str, **kwargs: Any) -> OktaClient:
    return OktaClient(
        ORG,
        client_id="0oaClient",
        private_key=pem,
        scopes=("okta.users.read", "okta.groups.read"),
        sleep=lambda s: None,
        **kwargs,
    )


def test_token_request_assertion_claims(mock: Any, key: rsa.RSAPrivateKey, pem: str) -> None:
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    api = mock.get("/api/v1/users/me").respond(200, json=USER)
    oauth_client(pem).get_user("me")

    form = server.forms[0]
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.read okta.groups.read"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(
        form["client_assertion"], key.public_key(), algorithms=["RS256"], audience=TOKEN_URL
    )
    assert claims["iss"] == claims["sub"] == "0oaClient"
    assert claims["aud"] == TOKEN_URL
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert claims["jti"]
    assert api.calls[0].request.headers["Authorization"] == "Bearer at-1"


def test_assertion_ids_are_unique(mock: Any, pem: str) -> None:
    server = TokenServer(expires_in=1)  # already inside the refresh margin: every call refreshes
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    mock.get("/api/v1/users/me").respond(200, json=USER)
    client = oauth_client(pem)
    client.get_user("me")
    client.get_user("me")
    jtis = {
        jwt.decode(f["client_assertion"], options={"verify_signature": False})["jti"]
        for f in server.forms
    }
    assert server.issued == 2 and len(jtis) == 2


def test_access_token_is_cached(mock: Any, pem: str) -> None:
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    api = mock.get("/api/v1/users/me").respond(200, json=USER)
    client = oauth_client(pem)
    for _ in range(3):
        client.get_user("me")
    assert server.issued == 1
    assert {c.request.headers["Authorization"] for c in api.calls} == {"Bearer at-1"}


def test_access_token_is_shared_through_the_cache(mock: Any, pem: str) -> None:
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    mock.get("/api/v1/users/me").respond(200, json=USER)
    shared = LocMemCache("oauth-test", {})
    oauth_client(pem, token_cache=shared).get_user("me")
    oauth_client(pem, token_cache=shared).get_user("me")  # another worker, same org and scopes
    assert server.issued == 1


def test_access_token_refreshed_before_expiry(
    mock: Any, pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = TokenServer(expires_in=3600)
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    api = mock.get("/api/v1/users/me").respond(200, json=USER)
    client = oauth_client(pem)
    client.get_user("me")
    real_time = time.time
    # 56 minutes later: less than the refresh margin (5 minutes) is left on the token.
    monkeypatch.setattr(client_module.time, "time", lambda: real_time() + 56 * 60)
    client.get_user("me")
    assert server.issued == 2
    assert api.calls[1].request.headers["Authorization"] == "Bearer at-2"


def test_401_refreshes_token_once_and_retries(mock: Any, pem: str) -> None:
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    api = mock.get("/api/v1/users/me")
    api.side_effect = [
        httpx.Response(401, json={"errorCode": "E0000011", "errorSummary": "Invalid token"}),
        httpx.Response(200, json=USER),
    ]
    assert oauth_client(pem).get_user("me").id == "00u1"
    assert server.issued == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer at-1", "Bearer at-2"]


def test_401_twice_is_an_error(mock: Any, pem: str) -> None:
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    api = mock.get("/api/v1/users/me").respond(
        401, json={"errorCode": "E0000011", "errorSummary": "Invalid token provided"}
    )
    with pytest.raises(OktaError) as caught:
        oauth_client(pem).get_user("me")
    assert caught.value.status == 401 and caught.value.error_code == "E0000011"
    assert not caught.value.retryable
    assert api.call_count == 2 and server.issued == 2


def test_token_endpoint_error_is_explained(mock: Any, pem: str) -> None:
    mock.post("/oauth2/v1/token").respond(
        401,
        json={"error": "invalid_client", "error_description": "The client_assertion is invalid."},
    )
    with pytest.raises(OktaError) as caught:
        oauth_client(pem).get_user("me")
    assert caught.value.error_code == "invalid_client"
    assert "client_assertion is invalid" in caught.value.message


def test_jwk_private_key_sets_kid(mock: Any, key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk["kid"] = "key-1"
    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    mock.get("/api/v1/users/me").respond(200, json=USER)
    oauth_client(json.dumps(jwk)).get_user("me")
    assert jwt.get_unverified_header(server.forms[0]["client_assertion"])["kid"] == "key-1"


def test_token_refresh_inside_a_walk_uses_the_walks_slot(mock: Any, pem: str) -> None:
    from okta.governor import CacheGovernor

    server = TokenServer()
    mock.post("/oauth2/v1/token").mock(side_effect=server)
    mock.get("/api/v1/groups").respond(200, json=[{"id": "00g1", "profile": {"name": "G"}}])
    gov = CacheGovernor(cache=LocMemCache("oauth-walk", {}), concurrency_limit=1)

    def no_waiting(seconds: float) -> None:
        raise AssertionError("waited for a concurrency slot it already held")

    client = OktaClient(ORG, client_id="0oaClient", private_key=pem, governor=gov, sleep=no_waiting)
    assert [g.name for g in client.iter_groups()] == ["G"]
    assert server.issued == 1 and gov.in_flight() == 0
