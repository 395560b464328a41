"""The bulk page as an admin sees it in a browser (sam, against the Okta sandbox): one group
picker per question, and no action chosen until the admin chooses one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from okta.actors import SystemActor
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse
from tests.identity.conftest import ensure_default_policies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# How the group reads in the picker: its name and its type.
CONTRACTORS = "Contractors OKTA_GROUP"


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_bulk_form_shows_one_group_picker_and_no_action_until_chosen(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{gatehouse.url}/identity/admin/bulk/")
    members = page.get_by_test_id("picker-group_id")
    expect(members).to_have_count(1)
    action = page.get_by_label("Action")
    expect(action).to_have_value("")

    page.get_by_label("Members of group").fill("Contractors")
    choice = page.get_by_test_id("picker-results-group_id").get_by_label(CONTRACTORS, exact=True)
    choice.check()
    page.get_by_role("button", name="Preview").click()
    # Sent without an action: nothing previewed, a plain error, and the choice kept, once.
    expect(page.get_by_test_id("field-error")).to_have_text("Choose what to do to these people.")
    expect(page.get_by_test_id("preview-summary")).to_have_count(0)
    expect(members).to_have_count(1)
    expect(members.get_by_label(CONTRACTORS, exact=True)).to_be_checked()
    expect(members).not_to_contain_text("No group matches")

    action.select_option("sessions_clear")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-summary")).to_contain_text("12 changes")
    expect(members).to_have_count(1)
    expect(members.get_by_label(CONTRACTORS, exact=True)).to_be_checked()
    expect(members).to_contain_text("Groups matching “Contractors”.")
    expect(members).not_to_contain_text("No group matches")
