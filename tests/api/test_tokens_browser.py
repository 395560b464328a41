"""An admin makes a service token in a real browser, a script uses it against the live server,
and the admin revokes it: the script is refused from then on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.models import ApiToken
from okta.actors import SystemActor
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_get(gatehouse: Gatehouse, path: str, token: str) -> int:
    request = urllib.request.Request(
        f"{gatehouse.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # the live server, loopback
            json.loads(answer.read())
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_admin_makes_a_service_token_a_script_uses_it_then_it_is_revoked(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None], settings: Any
) -> None:
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "sam.rivera@acme.com")
    page.get_by_test_id("signed-in-as").click()
    page.get_by_role("link", name="API tokens").click()

    page.get_by_label("Name").fill("ServiceNow sync")
    page.get_by_label("Kind").select_option("service")
    page.get_by_label("catalog:read").check()
    page.get_by_label("inbox:read").check()
    page.get_by_role("button", name="Make token").click()

    shown = page.get_by_test_id("token-secret")
    expect(shown).to_contain_text("Copy it now")
    secret = shown.locator("code").inner_text().strip()
    token = ApiToken.objects.get()
    assert token.kind == "service" and token.scopes == ["catalog:read", "inbox:read"]
    assert secret.startswith(f"gh_{token.prefix}_")
    row = page.locator(f'tr[data-token="{token.prefix}"]')
    expect(row).to_contain_text("ServiceNow sync")
    expect(row).to_contain_text("Active")

    assert api_get(gatehouse, "/catalog", secret) == 200
    assert api_get(gatehouse, "/grants", secret) == 403  # not in its scopes

    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(f'tr[data-token="{token.prefix}"]')).to_contain_text("Revoked")
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text(
        "revoked"
    )
    assert api_get(gatehouse, "/catalog", secret) == 401
