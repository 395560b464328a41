"""Finding the sign-in provider's endpoints through OIDC Discovery (accounts/oidc.py), against the
real local provider (oidc-provider-mock serves /.well-known/openid-configuration). The whole
sign-in through discovered endpoints is tests/accounts/test_signin_flow.py."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from accounts import oidc as portal_oidc
from accounts.auth import REFUSAL_SESSION_KEY, OktaOIDCBackend
from accounts.oidc import PROVIDER_UNAVAILABLE, DiscoveryFailed, oidc_endpoints
from tests.browser.plugin import OidcProvider, free_port

pytestmark = pytest.mark.django_db

EXPLICIT = [
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
]


@pytest.fixture(autouse=True)
def _fresh_discovery() -> Iterator[None]:
    portal_oidc.discovery_forget()
    yield
    portal_oidc.discovery_forget()


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Issuers whose document was fetched over HTTP (the real fetch still runs)."""
    seen: list[str] = []
    real = portal_oidc._fetch

    def counting(issuer: str) -> dict[str, Any]:
        seen.append(issuer)
        return real(issuer)

    monkeypatch.setattr(portal_oidc, "_fetch", counting)
    return seen


@pytest.fixture
def nobody_listening(settings: Any) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    settings.OIDC_OP_ISSUER = url
    for name in EXPLICIT:
        setattr(settings, name, "")
    return url


def test_discovery_fills_every_endpoint_from_the_issuer(oidc: OidcProvider) -> None:
    assert oidc_endpoints() == {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{oidc.url}/oauth2/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": f"{oidc.url}/oauth2/token",
        "OIDC_OP_USER_ENDPOINT": f"{oidc.url}/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": f"{oidc.url}/jwks",
    }


def test_discovery_is_fetched_once_for_many_sign_ins(
    oidc: OidcProvider, fetches: list[str], client: Client
) -> None:
    for _ in range(3):
        start = client.get("/oidc/authenticate/")
        assert start.status_code == 302
        assert start["Location"].startswith(f"{oidc.url}/oauth2/authorize?")
    assert fetches == [oidc.url]


def test_discovery_explicit_endpoint_wins(oidc: OidcProvider, settings: Any) -> None:
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://tokens.example.com/v1/token"
    endpoints = oidc_endpoints()
    assert endpoints["OIDC_OP_TOKEN_ENDPOINT"] == "https://tokens.example.com/v1/token"
    assert endpoints["OIDC_OP_JWKS_ENDPOINT"] == f"{oidc.url}/jwks"


def test_discovery_not_asked_when_every_endpoint_is_set(
    nobody_listening: str, settings: Any, fetches: list[str]
) -> None:
    for name in EXPLICIT:
        setattr(settings, name, f"https://idp.example.com/{name.lower()}")
    assert (
        oidc_endpoints()["OIDC_OP_USER_ENDPOINT"] == "https://idp.example.com/oidc_op_user_endpoint"
    )
    assert fetches == []


def test_discovery_unreachable_issuer_gives_clear_error_and_is_retried(
    nobody_listening: str, fetches: list[str], client: Client
) -> None:
    with pytest.raises(
        DiscoveryFailed, match=re.escape(f"{nobody_listening}/.well-known/openid-configuration")
    ):
        oidc_endpoints()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503
    assert PROVIDER_UNAVAILABLE in response.content.decode()
    assert fetches == [nobody_listening, nobody_listening]  # a failure is not kept


@pytest.fixture
def impostor(settings: Any) -> Iterator[str]:
    """A provider on loopback whose discovery document is about another issuer."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {"issuer": "https://idp.example.com", "token_endpoint": "https://x/t"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    settings.OIDC_OP_ISSUER = url
    for name in EXPLICIT:
        setattr(settings, name, "")
    yield url
    server.shutdown()
    server.server_close()


def test_discovery_refuses_document_about_another_issuer(impostor: str) -> None:
    with pytest.raises(
        DiscoveryFailed, match=re.escape("names the issuer 'https://idp.example.com'")
    ):
        oidc_endpoints()


def test_discovery_issuer_without_document_gives_clear_error(
    oidc: OidcProvider, settings: Any
) -> None:
    settings.OIDC_OP_ISSUER = f"{oidc.url}/no-such-tenant"
    with pytest.raises(DiscoveryFailed, match="answered HTTP 404"):
        oidc_endpoints()


def test_discovery_without_issuer_or_endpoints_says_what_to_set(settings: Any) -> None:
    settings.OIDC_OP_ISSUER = ""
    for name in EXPLICIT:
        setattr(settings, name, "")
    with pytest.raises(DiscoveryFailed, match="set OIDC_OP_ISSUER"):
        oidc_endpoints()


def test_discovery_failure_at_callback_refuses_sign_in_with_message(
    nobody_listening: str,
) -> None:
    request = RequestFactory().get("/oidc/callback/", {"code": "c0de", "state": "st4te"})
    request.session = SessionStore()
    assert OktaOIDCBackend().authenticate(request) is None
    assert request.session[REFUSAL_SESSION_KEY] == PROVIDER_UNAVAILABLE
