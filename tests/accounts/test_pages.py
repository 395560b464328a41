"""The portal's own pages: sign-in, refusal, home."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.auth import REFUSAL_SESSION_KEY
from accounts.models import User
from okta.models import OktaUser

pytestmark = pytest.mark.django_db


def test_home_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_offers_sign_in_and_sets_csp(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in with your company account" in response.content
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp


def test_login_page_without_demo_people_lists_nobody(client: Client, settings: Any) -> None:
    settings.DEMO_PEOPLE = []
    response = client.get("/login/")
    assert b"Demo: who to sign in as" not in response.content


def test_login_page_in_demo_says_which_id_to_pick(
    client: Client, settings: Any, maya: OktaUser
) -> None:
    settings.DEMO_PEOPLE = ["maya.chen@acme.com", "luna.ibrahim@acme.com"]
    response = client.get("/login/")
    content = response.content.decode()
    assert "Demo: who to sign in as" in content
    assert "Maya Chen" in content
    assert "Software Engineer" in content
    assert maya.id in content
    assert "luna.ibrahim@acme.com" in content
    assert "(not synced yet)" in content  # Luna is not in this mirror


def test_login_page_signed_in_redirects_home(client: Client, maya: OktaUser) -> None:
    client.force_login(User.objects.create_user(maya.login, okta_id=maya.id))
    response = client.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signin_refused_shows_reason_once_with_403(client: Client) -> None:
    session = client.session
    session[REFUSAL_SESSION_KEY] = "Your account in the company directory is suspended."
    session.save()
    response = client.get("/signin/refused/")
    assert response.status_code == 403
    assert b"Your account in the company directory is suspended." in response.content
    again = client.get("/signin/refused/")
    assert again.status_code == 403
    assert b"is suspended" not in again.content
    assert b"You cannot sign in to Gatehouse" in again.content


def test_signin_refused_post_not_allowed(client: Client) -> None:
    assert client.post("/signin/refused/").status_code == 405


def test_home_shows_person_name_title_and_roles(client: Client, maya: OktaUser) -> None:
    user = User.objects.create_user(
        maya.login, okta_id=maya.id, first_name="Maya", last_name="Chen", display_name="Maya Chen"
    )
    client.force_login(user)
    response = client.get("/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="person-name">Maya Chen<' in content
    assert "Software Engineer · Engineering" in content
    assert "employee" in content


def test_home_unlinked_account_shows_name_without_directory_details(client: Client) -> None:
    client.force_login(User.objects.create_user("local-admin", first_name="Local"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"local-admin" in response.content or b"Local" in response.content
    assert b"Your roles" in response.content


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.json() == {"ok": True}


def test_login_page_in_demo_marks_refused_person(client: Client, settings: Any) -> None:
    from tests.accounts.conftest import person_make

    person_make("sid.suspended@acme.com", status="SUSPENDED")
    settings.DEMO_PEOPLE = ["sid.suspended@acme.com"]
    response = client.get("/login/")
    assert b"suspended: to see a refused sign-in" in response.content


def test_login_page_passes_safe_next_to_sign_in(client: Client) -> None:
    response = client.get("/login/?next=/catalog/%3Fq%3Dslack")
    assert b'href="/oidc/authenticate/?next=/catalog/%3Fq%3Dslack"' in response.content


def test_login_page_drops_offsite_next(client: Client) -> None:
    response = client.get("/login/?next=https://evil.example/")
    assert b"evil.example" not in response.content
    assert b'href="/oidc/authenticate/"' in response.content
