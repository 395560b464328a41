"""Creating a user in a real browser, with a real worker and the Okta sandbox (as sam, an
admin): a group that is in the directory but not in the catalog can be given, and the new
user's page shows Okta's status and groups at once, not after the next sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from identity.models import ActionRequest
from okta.actors import SystemActor
from okta.models import Operation, OperationStatus
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse
from tests.identity.conftest import ensure_default_policies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How long the page may wait for the worker's outcome: slow on a loaded two-core machine.
WORKER_TIMEOUT = 180.0


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_admin_creates_a_user_in_a_directory_group_and_sees_okta_answer(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    from approvals.demo import demo_catalog_publish
    from tests.approvals.conftest import ensure_default_policies as approvals_policies

    ensure_default_policies()
    approvals_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    assert demo_catalog_publish() >= 1  # the catalog has items, Design is not one of them
    sign_in(page, "sam.rivera@acme.com")
    page.get_by_role("button", name="Identity admin", exact=True).click()
    page.get_by_role("link", name="Create user").click()
    page.get_by_label("Login", exact=True).fill("nina.new@acme.com")
    page.get_by_label("Email", exact=True).fill("nina.new@acme.com")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("New")
    page.get_by_label("Activation").select_option("url")
    page.get_by_label("Groups", exact=True).fill("Design")
    results = page.get_by_test_id("picker-results-groups")
    expect(results).not_to_contain_text("No group")
    results.get_by_label("Design", exact=True).check()
    page.get_by_role("button", name="Create user").click()

    req = ActionRequest.objects.get()

    def created_and_activated() -> bool:
        ops = Operation.objects.filter(correlation=req.correlation)
        kinds = set(ops.filter(status=OperationStatus.SUCCEEDED).values_list("kind", flat=True))
        return kinds == {"user.create", "user.activate"}

    celery_worker.wait_for(
        created_and_activated, timeout=WORKER_TIMEOUT, what="the user created and activated"
    )
    req.refresh_from_db()
    assert gatehouse.okta.user_state("nina.new@acme.com")["status"] == "PROVISIONED"
    page.goto(f"{gatehouse.url}/identity/people/{req.target_user_id}/")
    expect(page.get_by_test_id("person-status")).to_contain_text("PROVISIONED")
    groups = page.get_by_role("heading", name="Groups").locator("xpath=following-sibling::ul")
    expect(groups).to_contain_text("Design")
    expect(groups).to_contain_text("Everyone")
    expect(groups).not_to_contain_text("None")
