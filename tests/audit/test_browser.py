"""tessa.nguyen, an auditor (Okta group "Gatehouse Auditors"), reads and checks the trail in a
real browser: the nav link, HTMX filtering under the CSP, an event, the integrity check."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from approvals.demo import demo_catalog_publish
from approvals.models import CatalogItem
from approvals.services.decisions import access_request_decide
from approvals.services.requests import access_request_submit
from audit.models import AuditEvent
from audit.services import audit_record
from okta.actors import SystemActor
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _portal_backend(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = ["accounts.auth.OktaOIDCBackend"]


def test_auditor_filters_the_trail_and_verifies_it(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    sync_run_execute(
        run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk
    )  # mirrors her groups
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


def test_auditor_reads_okta_targets_by_name_and_uses_the_action_hint(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    """The trail of a real request: the Okta operation it queued names the group and the person
    (not their Okta ids), and the example the Action filter shows finds the request's events."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    demo_catalog_publish()
    maya, priya = (
        User.objects.create(username=login, okta_id=acme_user_id(login))
        for login in ("maya.chen@acme.com", "priya.patel@acme.com")
    )
    req = access_request_submit(
        requester=maya,
        item=CatalogItem.objects.get(name="Engineering - Backend"),
        reason="on-call",
        duration_days=30,
    )
    access_request_decide(actor=priya, request_id=req.pk, outcome="APPROVE")
    queued = AuditEvent.objects.get(action="okta.operation.queued")

    sign_in(page, "tessa.nguyen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    row = page.locator(f"#event-{queued.pk}")
    expect(row).to_contain_text("Engineering - Backend · Maya Chen")
    expect(row).not_to_contain_text(acme_group_id("Engineering - Backend"))

    action = page.get_by_label("Action")
    hint = action.get_attribute("placeholder") or ""
    action.fill(hint)  # every field filters as one types, not only the first
    expect(page).to_have_url(re.compile(r"[?&]action=access_request"))
    results = page.locator("#audit-results")
    expect(results).to_contain_text("access_request.submitted")
    expect(results).not_to_contain_text("okta.operation.queued")
    expect(page.locator("[data-testid=audit-row]")).to_have_count(
        AuditEvent.objects.filter(action__startswith="access_request.").count()
    )
