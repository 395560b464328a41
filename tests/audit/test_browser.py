"""tessa.nguyen, an auditor (Okta group "Gatehouse Auditors"), reads and checks the trail in a
real browser: the nav link, HTMX filtering under the CSP, an event, the integrity check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from audit.services import audit_record
from okta.sync import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _portal_backend(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = ["portal.auth.OktaOIDCBackend"]


def test_auditor_filters_the_trail_and_verifies_it(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    sync_run_execute(run_id=sync_run_start(actor="test", kind="full").pk)  # mirrors her groups
    audit_record(
        action="request.submitted",
        actor="maya.chen@acme.com",
        target_type="access_request",
        target_id="1",
        target_label="Engineering - Backend",
    )
    audit_record(
        action="request.decided",
        actor="priya.patel@acme.com",
        target_type="access_request",
        target_id="1",
        target_label="Engineering - Backend",
        detail={"decision": "approved", "comment": "Welcome aboard"},
    )

    sign_in(page, "tessa.nguyen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.locator("#audit-results")).to_contain_text("maya.chen@acme.com")

    page.get_by_label("Actor").fill("priya.patel@acme.com")
    expect(page.locator("#audit-results")).not_to_contain_text("maya.chen@acme.com")
    expect(page.locator("[data-testid=audit-row]")).to_have_count(1)
    expect(page).to_have_url(f"{gatehouse.url}/audit/?actor=priya.patel%40acme.com")

    page.locator("[data-testid=audit-row] a").first.click()
    expect(page.get_by_test_id("detail-json")).to_contain_text("Welcome aboard")
    expect(page.get_by_test_id("hash-check")).to_contain_text("matches the contents")

    page.go_back()
    page.get_by_test_id("verify-button").click()
    expect(page.get_by_test_id("verification-result")).to_contain_text("Intact")
