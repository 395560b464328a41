"""Authentication: SSWS with and without the space, bad tokens, OAuth 2.0 private_key_jwt."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "0oaGatehouseService01"
SCOPES = ["okta.users.read", "okta.users.manage", "okta.groups.read"]


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oauth_client(okta_sandbox: Any, rsa_key: rsa.RSAPrivateKey) -> str:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    okta_sandbox.register_oauth_client(CLIENT_ID, jwk, SCOPES)
    return CLIENT_ID


def assertion(
    sandbox: Any, key: Any, *, client_id: str = CLIENT_ID, lifetime: int = 300, **claims: Any
) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": sandbox.url + "/oauth2/v1/token",
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256")


def token_request(sandbox: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    import json

    request = urllib.request.Request(
        sandbox.url + "/oauth2/v1/token",
        data=urllib.parse.urlencode(form).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def form_for(signed: str, scope: str = "okta.users.read") -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }


@pytest.mark.parametrize("header", ["SSWS {token}", "SSWS{token}", "ssws {token}"])
def test_auth_ssws_with_or_without_space_is_accepted(
    okta: Any, okta_sandbox: Any, header: str
) -> None:
    response = okta(
        "GET",
        "/api/v1/users/me",
        headers={"Authorization": header.format(token=okta_sandbox.token)},
    )
    assert response.status == 200


@pytest.mark.parametrize("header", ["SSWS wrong-token", "Bearer nope", "Basic abc", "SSWS", ""])
def test_auth_wrong_or_missing_token_is_401_e0000011(okta: Any, header: str) -> None:
    response = okta("GET", "/api/v1/users", headers={"Authorization": header})
    assert response.status == 401
    assert response.body["errorCode"] == "E0000011"
    assert response.body["errorSummary"] == "Invalid token provided"
    assert response.headers["x-okta-request-id"]
    assert "x-rate-limit-remaining" in response.headers


def test_auth_private_key_jwt_issues_a_bearer_token_that_works(
    okta: Any, okta_sandbox: Any, oauth_client: str, rsa_key: Any
) -> None:
    status, body = token_request(okta_sandbox, form_for(assertion(okta_sandbox, rsa_key)))
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "okta.users.read"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert okta("GET", "/api/v1/users?limit=1", headers=bearer).status == 200


def test_auth_bearer_token_honours_scopes(
    okta: Any, okta_sandbox: Any, oauth_client: str, rsa_key: Any
) -> None:
    _, body = token_request(okta_sandbox, form_for(assertion(okta_sandbox, rsa_key)))
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    write = okta("POST", "/api/v1/users/maya.chen@acme.com/lifecycle/suspend", headers=bearer)
    assert write.status == 403
    assert write.body["errorCode"] == "E0000006"
    other_family = okta("GET", "/api/v1/apps", headers=bearer)
    assert other_family.status == 403


def test_auth_bearer_write_is_logged_with_the_client_as_actor(
    okta: Any, okta_sandbox: Any, oauth_client: str, rsa_key: Any
) -> None:
    signed = assertion(okta_sandbox, rsa_key)
    _, body = token_request(okta_sandbox, form_for(signed, "okta.users.manage"))
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    response = okta("POST", "/api/v1/users/maya.chen@acme.com/lifecycle/suspend", headers=bearer)
    assert response.status == 200
    event = okta("GET", "/api/v1/logs?sortOrder=DESCENDING&limit=1").body[0]
    assert event["actor"]["id"] == CLIENT_ID


@pytest.mark.parametrize(
    ("case", "expected_status", "expected_error"),
    [
        ("wrong key", 401, "invalid_client"),
        ("wrong audience", 401, "invalid_client"),
        ("expired", 401, "invalid_client"),
        ("exp beyond one hour", 401, "invalid_client"),
        ("sub differs", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("replayed jti", 401, "invalid_client"),
        ("scope not allowed", 400, "invalid_scope"),
        ("no scope", 400, "invalid_scope"),
        ("wrong grant", 400, "unsupported_grant_type"),
        ("not a jwt", 401, "invalid_client"),
    ],
)
def test_auth_private_key_jwt_bad_assertion_is_refused(
    okta_sandbox: Any,
    oauth_client: str,
    rsa_key: Any,
    other_key: Any,
    case: str,
    expected_status: int,
    expected_error: str,
) -> None:
    signed = assertion(okta_sandbox, rsa_key)
    form = form_for(signed)
    if case == "wrong key":
        form = form_for(assertion(okta_sandbox, other_key))
    elif case == "wrong audience":
        form = form_for(assertion(okta_sandbox, rsa_key, aud="https://elsewhere/oauth2/v1/token"))
    elif case == "expired":
        form = form_for(assertion(okta_sandbox, rsa_key, lifetime=-600))
    elif case == "exp beyond one hour":
        form = form_for(assertion(okta_sandbox, rsa_key, lifetime=2 * 3600))
    elif case == "sub differs":
        form = form_for(assertion(okta_sandbox, rsa_key, sub="someone-else"))
    elif case == "unknown client":
        form = form_for(assertion(okta_sandbox, rsa_key, client_id="0oaUnknown"))
    elif case == "replayed jti":
        assert token_request(okta_sandbox, form)[0] == 200
    elif case == "scope not allowed":
        form["scope"] = "okta.users.read okta.apps.manage"
    elif case == "no scope":
        form["scope"] = ""
    elif case == "wrong grant":
        form["grant_type"] = "password"
    elif case == "not a jwt":
        form["client_assertion"] = "not-a-jwt"
    status, body = token_request(okta_sandbox, form)
    assert status == expected_status
    assert body["error"] == expected_error
    assert body["error_description"]


def test_auth_pem_public_key_registration_works(okta_sandbox: Any, rsa_key: Any) -> None:
    pem = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    okta_sandbox.register_oauth_client("0oaPemClient", pem, ["okta.users.read"])
    signed = assertion(okta_sandbox, rsa_key, client_id="0oaPemClient")
    assert token_request(okta_sandbox, form_for(signed))[0] == 200


def test_auth_expired_bearer_token_is_401(okta: Any) -> None:
    response = okta("GET", "/api/v1/users", headers={"Authorization": "Bearer expired-or-unknown"})
    assert response.status == 401
    assert response.body["errorCode"] == "E0000011"
