"""Seed prompts in a real browser, with a real worker and the Okta sandbox (as sam, an admin):
"Suspend every user in the Finance department who hasn't signed in for 60 days", "Create an
OKTA_GROUP called 'Contractors-Q2' and add these 8 users", and "Show me all users with the
HELP_DESK_ADMIN or SUPER_ADMIN role and which groups they belong to"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from identity.models import BulkRun
from okta.actors import SystemActor
from okta.models import OktaGroup, OktaUser
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse
from tests.identity.conftest import ensure_default_policies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How long the page may wait for the worker's outcome: slow on a loaded two-core machine.
WORKER_TIMEOUT_MS = 180_000


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_admin_seed_prompts_in_the_browser(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    # jordan (helpdesk) is also a Gatehouse admin here: the second admin suspend needs.
    admins, jordan = acme_group_id("Gatehouse Admins"), acme_user_id("jordan.lee@acme.com")
    assert gatehouse.okta.api("PUT", f"/api/v1/groups/{admins}/users/{jordan}").status == 204
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "sam.rivera@acme.com")

    # 1. Suspend every Finance user who hasn't signed in for 60 days.
    page.get_by_role("button", name="Identity admin", exact=True).click()
    page.get_by_role("link", name="Bulk operations").click()
    page.get_by_label("Department").fill("Finance")
    page.get_by_label("Status").select_option("ACTIVE")
    page.get_by_label("No sign-in for (days)").fill("60")
    page.get_by_label("Action").select_option("suspend")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-summary")).to_contain_text("8 changes")
    expect(page.get_by_test_id("second-admin-needed")).to_be_visible()
    page.get_by_role("button", name="Confirm 8 changes").click()
    expect(page.get_by_test_id("awaiting")).to_contain_text("Waiting for a second admin")
    run_url = page.url
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "jordan.lee@acme.com")
    page.goto(run_url)
    page.get_by_role("button", name="Confirm as second admin").click()
    expect(page.get_by_test_id("bulk-progress")).to_contain_text(
        "8 of 8 done", timeout=WORKER_TIMEOUT_MS
    )
    expect(page.get_by_test_id("bulk-progress")).to_contain_text("8 succeeded")
    run = BulkRun.objects.get()
    for item in run.items.all():
        assert gatehouse.okta.user_state(item.user_id)["status"] == "SUSPENDED"

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "sam.rivera@acme.com")

    # 2. Create Contractors-Q2 and add eight people.
    page.get_by_role("button", name="Identity admin", exact=True).click()
    page.get_by_role("link", name="Groups").click()
    page.get_by_label("Name").fill("Contractors-Q2")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_test_id("action-outcome")).to_have_text("Done", timeout=WORKER_TIMEOUT_MS)
    group = OktaGroup.objects.get(name="Contractors-Q2")
    assert group.type == "OKTA_GROUP"
    logins = list(
        OktaUser.objects.filter(department="Marketing", status="ACTIVE")
        .order_by("login")
        .values_list("login", flat=True)[:8]
    )
    page.goto(f"{gatehouse.url}/identity/admin/groups/{group.pk}/")
    page.get_by_label("People (logins or emails").fill("\n".join(logins))
    page.get_by_role("button", name="Add members").click()
    expect(page.get_by_test_id("member-results").locator("li")).to_have_count(8)
    celery_worker.wait_for(
        lambda: all(
            "Contractors-Q2" in gatehouse.okta.user_state(login)["groups"] for login in logins
        ),
        timeout=WORKER_TIMEOUT_MS / 1000,
        what="eight people added to Contractors-Q2",
    )

    # 3. Who holds HELP_DESK_ADMIN or SUPER_ADMIN, and in which groups?
    page.get_by_role("button", name="Identity admin", exact=True).click()
    page.get_by_role("link", name="Admin roles report").click()
    report = page.get_by_test_id("admin-roles-report")
    expect(report).to_contain_text("sam.rivera@acme.com")
    expect(report).to_contain_text("jordan.lee@acme.com")
    expect(report).to_contain_text("Gatehouse Helpdesk")


def test_second_admin_approves_a_suspend_in_the_inbox(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    """A suspend needs a second admin: asked on the person's page, it waits in the other
    admin's inbox (nav count), is approved there, and the worker carries it out in Okta."""
    from approvals.models import AccessRequest, RequestStatus
    from identity.models import ActionRequest

    admins, jordan = acme_group_id("Gatehouse Admins"), acme_user_id("jordan.lee@acme.com")
    john = acme_user_id("john.doe@acme.com")
    assert gatehouse.okta.api("PUT", f"/api/v1/groups/{admins}/users/{jordan}").status == 204
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)

    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{gatehouse.url}/identity/people/{john}/")
    page.get_by_role("button", name="Suspend", exact=True).click()
    expect(page.get_by_test_id("action-outcome")).to_contain_text("Pending approval")
    action = ActionRequest.objects.get(target_user_id=john)
    approval = AccessRequest.objects.get(identity_action=action)
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in(page, "jordan.lee@acme.com")
    expect(page.get_by_test_id("inbox-count")).to_contain_text("1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    row = page.locator(f"#inbox-row-{approval.pk}")
    expect(row).to_contain_text("Suspend")
    row.get_by_label("Comment").fill("Confirmed with HR")
    row.get_by_role("button", name=f"Approve #{approval.pk}").click()
    expect(row).to_contain_text("decision recorded")
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=approval.pk).status == RequestStatus.COMPLETED,
        timeout=WORKER_TIMEOUT_MS / 1000,
        what="the suspend to be carried out",
    )
    assert gatehouse.okta.user_state(john)["status"] == "SUSPENDED"
    page.goto(f"{gatehouse.url}{approval.get_absolute_url()}")
    expect(page.get_by_test_id("request-status")).to_contain_text("Completed")
    expect(page.get_by_test_id("timeline")).to_contain_text("Confirmed with HR")


def test_admin_picks_a_group_by_typing_and_with_the_keyboard(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    """The person page's group picker: typing part of a name lists the matching OKTA_GROUPs
    (not the app group), the keyboard chooses one, and the worker adds the person in Okta."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    john = acme_user_id("john.doe@acme.com")
    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{gatehouse.url}/identity/people/{john}/")
    page.get_by_label("Group (OKTA_GROUP)").fill("sales")
    results = page.get_by_test_id("picker-results-group_id")
    expect(results).to_contain_text("Sales")
    expect(results).not_to_contain_text("Salesforce - Sales Reps")  # an APP_GROUP
    choice = results.get_by_label("Sales", exact=True)
    choice.focus()
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_test_id("action-outcome")).to_have_text("Done", timeout=WORKER_TIMEOUT_MS)
    assert "Sales" in gatehouse.okta.user_state(john)["groups"]
