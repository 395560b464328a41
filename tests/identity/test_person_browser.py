"""The person page as a helpdesk agent sees it, in a real browser with a real worker and the
Okta sandbox: from the directory's "Locked out" filter to Unlock, the header following Okta's
answer without a reload, and a sensitive action confirmed with a ticket number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.sandbox.seed import acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse
from tests.identity.conftest import ensure_default_policies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How long the page may wait for the worker's outcome: slow on a loaded two-core machine.
WORKER_TIMEOUT_MS = 180_000


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_helpdesk_unlocks_from_the_directory_and_confirms_an_mfa_reset(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    maya = acme_user_id("maya.chen@acme.com")
    gatehouse.okta.lock_user(maya)
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "jordan.lee@acme.com")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory").click()
    page.get_by_label("Status").select_option("LOCKED_OUT")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Maya Chen").click()
    header = page.get_by_test_id("person-header")
    expect(header.get_by_test_id("person-status")).to_contain_text("LOCKED_OUT")

    header.get_by_role("button", name="Unlock").click()
    expect(page.get_by_test_id("action-outcome")).to_have_text("Done", timeout=WORKER_TIMEOUT_MS)
    expect(page.get_by_test_id("action-story")).to_have_text(
        "Maya Chen is unlocked and can sign in again."
    )
    # The header reads the mirror again once Okta has answered: no reload needed.
    expect(header.get_by_test_id("person-status")).to_contain_text("ACTIVE")
    expect(header.get_by_role("button", name="Unlock")).to_have_count(0)
    assert gatehouse.okta.user_state(maya)["status"] == "ACTIVE"

    # Reset MFA: a confirmation naming her and the effect, with an optional ticket.
    page.get_by_role("link", name="Reset MFA factors…").click()
    confirm = page.get_by_test_id("confirm-action")
    expect(confirm.get_by_test_id("confirm-question")).to_have_text(
        "Reset Maya Chen's MFA factors?"
    )
    expect(confirm).to_contain_text("they will have to enrol again at their next sign-in")
    confirm.get_by_label("Ticket or reason (optional)").fill("INC-4521")
    confirm.get_by_role("button", name="Reset MFA factors").click()
    expect(page.get_by_test_id("action-outcome")).to_have_text("Done", timeout=WORKER_TIMEOUT_MS)
    expect(page.get_by_test_id("action-reason")).to_have_text("Ticket or reason: INC-4521")
    expect(page.get_by_test_id("action-story")).to_have_text(
        "Maya Chen's MFA factors were reset; they will enrol again at their next sign-in."
    )
    expect(page.get_by_text("What Okta answered")).to_be_visible()
    expect(page.get_by_text("user.reset_factors")).to_be_hidden()  # one click away
    event = AuditEvent.objects.get(action="identity.action.requested", detail__action="mfa_reset")
    assert event.target_id == maya and event.detail["reason"] == "INC-4521"


def test_employee_mid_password_reset_keeps_gatehouse(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    """Maya emails herself a reset link: the page says what happens next, and while Okta holds
    her in RECOVERY she keeps her session and can sign in again with her Okta session."""
    maya = acme_user_id("maya.chen@acme.com")
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "maya.chen@acme.com")

    page.get_by_test_id("signed-in-as").click()
    page.get_by_role("button", name="Email a password reset link").click()
    expect(page.get_by_test_id("action-outcome")).to_have_text("Done", timeout=WORKER_TIMEOUT_MS)
    expect(page.get_by_test_id("action-story")).to_have_text(
        "We emailed a reset link to maya.chen@acme.com. Follow it to choose a new password; "
        "until you finish, you can keep using Gatehouse."
    )
    assert gatehouse.okta.user_state(maya)["status"] == "RECOVERY"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My access").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Maya Chen")  # still signed in
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "maya.chen@acme.com")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Maya Chen")
    expect(page.get_by_test_id("signin-refused")).to_have_count(0)
