"""The whole OIDC sign-in through the real local provider (oidc-provider-mock subprocess),
driven with Django's test client: authenticate → provider → callback → home or refusal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import User
from audit.models import AuditEvent
from gatehouse.management.oidc_claims import person_claims
from okta.models import OktaUser
from tests.accounts.conftest import person_make
from tests.browser.plugin import OidcProvider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_okta(settings: Any) -> None:
    settings.OKTA_ORG_URL = ""


def sign_in(
    client: Client, oidc: OidcProvider, sub: str, start_url: str = "/oidc/authenticate/"
) -> Any:
    start = client.get(start_url)
    assert start.status_code == 302
    assert start["Location"].startswith(f"{oidc.url}/oauth2/authorize?")
    callback = urlsplit(oidc.authorize(start["Location"], sub))
    assert callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_signin_flow_active_person_reaches_home_with_name(
    client: Client, oidc: OidcProvider, maya: OktaUser
) -> None:
    oidc.person_add(person_claims({"id": maya.id, "login": maya.login, "first_name": "Maya"}))
    response = sign_in(client, oidc, maya.id)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"Maya Chen" in home.content
    assert User.objects.get(okta_id=maya.id).username == maya.login


def test_signin_flow_suspended_person_sees_refusal_page(client: Client, oidc: OidcProvider) -> None:
    person = person_make("sid.suspended@acme.com", status="SUSPENDED")
    oidc.person_add(person_claims({"id": person.id, "login": person.login}))
    response = sign_in(client, oidc, person.id)
    assert response.status_code == 302
    assert response["Location"] == "/signin/refused/"
    refused = client.get("/signin/refused/")
    assert refused.status_code == 403
    assert b"suspended" in refused.content
    assert not User.objects.exists()
    assert AuditEvent.objects.filter(action="signin.refused", target_id=person.id).exists()
    assert client.get("/").status_code == 302  # still signed out


def test_signin_flow_unknown_person_sees_refusal_page(client: Client, oidc: OidcProvider) -> None:
    oidc.person_add({"sub": "00ustranger000000000", "email": "stranger@example.com"})
    response = sign_in(client, oidc, "00ustranger000000000")
    assert response["Location"] == "/signin/refused/"
    refused = client.get("/signin/refused/")
    assert refused.status_code == 403
    assert b"not found in the company directory" in refused.content
    assert not User.objects.exists()


def test_signin_flow_denied_at_provider_sees_refusal_page(
    client: Client, oidc: OidcProvider
) -> None:
    start = client.get("/oidc/authenticate/")
    query = urlsplit(start["Location"]).query
    denied = f"/oidc/callback/?error=access_denied&{query}"
    response = client.get(denied)
    assert response["Location"] == "/signin/refused/"
    refused = client.get("/signin/refused/")
    assert refused.status_code == 403
    assert b"You cannot sign in to Gatehouse" in refused.content


def test_signin_flow_returns_to_the_page_asked_for(
    client: Client, oidc: OidcProvider, maya: OktaUser
) -> None:
    oidc.person_add(person_claims({"id": maya.id, "login": maya.login}))
    response = sign_in(client, oidc, maya.id, start_url="/oidc/authenticate/?next=/healthz")
    assert response.status_code == 302
    assert response["Location"] == "/healthz"


def test_signin_flow_sends_pkce_and_nonce(client: Client, oidc: OidcProvider) -> None:
    start = client.get("/oidc/authenticate/")
    query = urlsplit(start["Location"]).query
    assert "code_challenge_method=S256" in query
    assert "code_challenge=" in query
    assert "nonce=" in query
    assert "state=" in query
