"""Ask Gatehouse in a real browser with a real worker and the Okta sandbox: maya types in the
navigation's box, reads the preview, asks again with HTMX on /ask/, confirms, sees the result,
and the worker takes it to Okta."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from identity.models import ActionRequest
from okta.actors import SystemActor
from okta.sandbox.seed import acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.browser.plugin import Gatehouse
from tests.identity.conftest import ensure_default_policies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT_S = 180


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_type_preview_confirm_and_see_the_result(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    sign_in(page, "maya.chen@acme.com")

    # From any page: the command box in the navigation, as a plain form.
    box = page.get_by_role("searchbox", name="Ask Gatehouse")
    box.fill("suspend john doe")
    box.press("Enter")
    expect(page.get_by_test_id("ask-step")).to_contain_text("Suspend: John Doe")
    expect(page.get_by_test_id("ask-refusal")).to_contain_text("Policy does not let you ask")
    expect(page.get_by_test_id("ask-confirm")).to_have_count(0)

    # On /ask/ the box previews in place (HTMX), and a typo is said back.
    page.get_by_test_id("ask-input").fill("Reset my Okta pasword — I can't remember it")
    page.get_by_test_id("ask-submit").click()
    expect(page.get_by_test_id("ask-note")).to_contain_text("Read “pasword” as “password”.")
    expect(page.get_by_test_id("ask-step")).to_contain_text(
        "Email a password reset link: Maya Chen"
    )
    expect(page.get_by_test_id("ask-outcome")).to_contain_text("Goes to Okta at once")
    page.get_by_test_id("ask-confirm").click()
    expect(page.get_by_test_id("ask-done")).to_contain_text("sent to Okta")

    maya = acme_user_id("maya.chen@acme.com")
    assert ActionRequest.objects.filter(target_user_id=maya).count() == 1
    celery_worker.wait_for(
        lambda: gatehouse.okta.user_state(maya)["status"] == "RECOVERY",
        timeout=WORKER_TIMEOUT_S,
        what="the password reset in Okta",
    )
