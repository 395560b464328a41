"""Signing in with a real browser through the local OIDC provider, the Okta sandbox behind it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from audit.models import AuditEvent
from okta.models import OktaUser
from tests.browser.plugin import Gatehouse

pytestmark = pytest.mark.browser


def test_signin_maya_sees_her_name(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    sign_in(page, "maya.chen@acme.com")
    expect(page).to_have_url(f"{gatehouse.url}/")
    expect(page.get_by_test_id("person-name")).to_have_text("Maya Chen")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Maya Chen")
    expect(page.get_by_text("Software Engineer · Engineering")).to_be_visible()
    # Not in the mirror before: looked up live in the sandbox, mirrored, linked.
    maya = OktaUser.objects.get(login="maya.chen@acme.com")
    assert User.objects.get(okta_id=maya.id).username == "maya.chen@acme.com"
    assert AuditEvent.objects.filter(action="signin.succeeded", target_id=maya.id).exists()


def test_signin_suspended_person_sees_refusal_page(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    suspended = gatehouse.oidc.refused("SUSPENDED")
    sign_in(page, suspended["sub"])
    expect(page).to_have_url(f"{gatehouse.url}/signin/refused/")
    expect(page.get_by_test_id("signin-refused")).to_contain_text("suspended")
    assert not User.objects.filter(okta_id=suspended["sub"]).exists()
    page.goto(f"{gatehouse.url}/")
    expect(page).to_have_url(f"{gatehouse.url}/login/?next=/")


def test_signin_then_sign_out_returns_to_login(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    sign_in(page, "tessa.nguyen@acme.com")
    expect(page.get_by_test_id("person-name")).to_have_text("Tessa Nguyen")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{gatehouse.url}/login/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def test_signin_provider_page_is_styled_from_this_machine(page: Page, gatehouse: Gatehouse) -> None:
    """Offline, a CDN stylesheet leaves the provider's page bare: everything comes from here."""
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{gatehouse.url}/login/")
    page.get_by_test_id("sign-in").click()
    maya = gatehouse.oidc.sub_for("maya.chen@acme.com")
    button = page.get_by_role("button", name=f"Authorize as {maya}")
    expect(button).to_contain_text("Maya Chen")
    # Bootstrap's outline button (its blue border), not the browser's grey default.
    expect(button).to_have_css("border-top-color", "rgb(13, 110, 253)")
    expect(page.get_by_role("navigation", name="Provider")).to_have_css(
        "background-color", "rgb(33, 37, 41)"
    )
    button.click()
    page.wait_for_url(f"{gatehouse.url}/")
    expect(page.get_by_test_id("person-name")).to_have_text("Maya Chen")
    assert fetched and all(
        urlsplit(url).hostname in ("127.0.0.1", "localhost") for url in fetched
    ), fetched
