"""Pages as a person sees them in a real browser: the nav says where you are, nothing is wider
than a phone, and focus stays with the content an HTMX swap replaced."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from approvals.demo import demo_catalog_publish
from okta.actors import SystemActor
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_PAGES = ["/", "/catalog/", "/requests/", "/access/", "/inbox/", "/directory/users/"]


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def synced(gatehouse: Gatehouse) -> Gatehouse:
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    demo_catalog_publish()
    return gatehouse


def test_layout_phone_pages_fit_and_nav_marks_current(
    page: Page,
    synced: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "sam.rivera@acme.com")
    for path in PHONE_PAGES:
        page.goto(f"{synced.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px phone"
    page.goto(f"{synced.url}/catalog/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator('[aria-current="page"]')).to_have_text("Catalog")


def test_layout_htmx_next_page_keeps_focus_in_results(
    page: Page,
    synced: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    sign_in(page, "jordan.lee@acme.com")
    page.goto(f"{synced.url}/directory/users/")
    page.get_by_role("link", name="Next page").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/directory/users/\?after="))
    page.wait_for_function("document.activeElement && document.activeElement.closest('#results')")


def test_layout_every_filter_field_filters_as_one_types(
    page: Page,
    synced: Gatehouse,
    sign_in: Callable[[Page, str], None],
) -> None:
    """Not only the form's first box: typing in Department (the directory) or Person (active
    grants) filters without pressing Enter."""
    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{synced.url}/directory/users/")
    page.get_by_label("Department").press_sequentially("Executive")
    expect(page).to_have_url(re.compile(r"department=Executive"))
    expect(page.locator("#results")).to_contain_text("Alex Morgan")
    expect(page.locator("#results")).not_to_contain_text("Dana Brooks")

    page.goto(f"{synced.url}{reverse('approvals:admin_grants')}")
    page.get_by_label("Person").press_sequentially("nobody-at-all")
    expect(page).to_have_url(re.compile(r"q=nobody-at-all"))
