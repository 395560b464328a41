"""The sign-in provider's endpoints: explicit settings first, then OIDC Discovery.

Given ``OIDC_OP_ISSUER``, the provider's ``/.well-known/openid-configuration`` (OpenID Connect
Discovery 1.0) names its authorization, token, userinfo and JWKS endpoints. It is fetched when
someone first signs in, not at start-up (a provider that is down must not stop Gatehouse from
serving signed-in people), with a timeout, and kept for ``DISCOVERY_TTL_SECONDS``; a failure is
not kept, so the next sign-in tries again. An endpoint set explicitly in the settings always wins,
and when all four are set the provider is never asked.

mozilla-django-oidc reads the endpoints when its backend and views are built (for every request,
in the backend's case), so ``OktaOIDCBackend`` and ``AuthenticationRequestView`` fill them in
only when a sign-in actually starts or comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

logger = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

# setting name -> the discovery document's key
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}

PROVIDER_UNAVAILABLE = (
    "The sign-in provider could not be reached, so Gatehouse cannot sign you in right now. "
    "Please try again in a few minutes; if it keeps happening, tell your IT team."
)


class DiscoveryFailed(Exception):
    """The endpoints could not be found; the message says why, for the operator's log."""


@dataclass(frozen=True, slots=True)
class _Discovered:
    document: dict[str, Any]
    fetched_at: float


_discovered: dict[str, _Discovered] = {}
_lock = threading.Lock()


def discovery_document(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document, fetched at most once per ``DISCOVERY_TTL_SECONDS``."""
    issuer = issuer.rstrip("/")
    with _lock:
        kept = _discovered.get(issuer)
        if kept is not None and time.monotonic() - kept.fetched_at < DISCOVERY_TTL_SECONDS:
            return kept.document
        document = _fetch(issuer)
        _discovered[issuer] = _Discovered(document, time.monotonic())
        return document


def discovery_forget() -> None:
    """Drop every kept document (tests, or after changing the issuer)."""
    with _lock:
        _discovered.clear()


def _fetch(issuer: str) -> dict[str, Any]:
    url = f"{issuer}{DISCOVERY_PATH}"
    try:
        response = requests.get(
            url,
            headers={"Accept": "application/json"},
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
    except requests.RequestException as exc:
        raise DiscoveryFailed(f"{url} could not be fetched: {exc}") from exc
    if response.status_code != 200:
        raise DiscoveryFailed(f"{url} answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError as exc:
        raise DiscoveryFailed(f"{url} did not answer with JSON") from exc
    if not isinstance(document, dict):
        raise DiscoveryFailed(f"{url} did not answer with a JSON object")
    # Discovery 1.0 §4.3: the document must be about the issuer we asked for.
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryFailed(
            f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}: check "
            "OIDC_OP_ISSUER"
        )
    return document


def oidc_endpoints() -> dict[str, str]:
    """Every endpoint setting name -> URL: the explicit setting, else the discovered one.

    Raises DiscoveryFailed when an endpoint is neither set nor discoverable."""
    endpoints = {name: str(getattr(settings, name, "") or "") for name in ENDPOINTS}
    missing = [name for name, value in endpoints.items() if not value]
    if not missing:
        return endpoints
    issuer = settings.OIDC_OP_ISSUER
    if not issuer:
        raise DiscoveryFailed(f"set OIDC_OP_ISSUER (or {', '.join(missing)})")
    document = discovery_document(issuer)
    for name in missing:
        value = document.get(ENDPOINTS[name])
        if not isinstance(value, str) or not value:
            raise DiscoveryFailed(
                f"{issuer}{DISCOVERY_PATH} has no {ENDPOINTS[name]}: set {name} explicitly"
            )
        endpoints[name] = value
    return endpoints


def provider_unavailable(request: HttpRequest, exc: DiscoveryFailed) -> HttpResponse:
    logger.error("sign-in provider discovery failed: %s", exc)
    return render(
        request, "portal/signin_refused.html", {"reason": PROVIDER_UNAVAILABLE}, status=503
    )


class AuthenticationRequestView(OIDCAuthenticationRequestView):
    """Sends people to the provider's authorization endpoint, discovered when not configured."""

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_endpoints()["OIDC_OP_AUTHORIZATION_ENDPOINT"]
        except DiscoveryFailed as exc:
            return provider_unavailable(request, exc)
        response: HttpResponse = super().get(request)
        return response
