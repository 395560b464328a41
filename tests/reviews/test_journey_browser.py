"""An access review in a real browser, a real worker and the Okta sandbox: sam (an admin)
starts a campaign over "Engineering - Frontend"; priya reviews her reports' access with bulk
revoke and keep, and the worker removes maya in Okta; tessa (an auditor) downloads the
evidence, whose chain head verifies."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from audit.chain import chain_verify
from okta.actors import SystemActor
from okta.sandbox.seed import acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from reviews.models import Campaign, Decision, OktaOutcome, ReviewItem
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRONTEND = "Engineering - Frontend"
WORKER_TIMEOUT = 180  # seconds: a worker on a loaded two-core machine can be slow, never wrong


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_admin_starts_manager_reviews_in_bulk_auditor_downloads_evidence(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    maya_id, priya_id = acme_user_id("maya.chen@acme.com"), acme_user_id("priya.patel@acme.com")
    assert FRONTEND in gatehouse.okta.user_state(maya_id)["groups"]
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)

    sign_in(page, "sam.rivera@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name="Campaigns and reports").click()
    page.get_by_role("link", name="New campaign").click()
    page.locator("#id_name").fill("Frontend Q4")
    page.get_by_label("Okta groups").fill(FRONTEND)
    page.get_by_label("Who reviews").select_option("manager")
    page.get_by_label("At the end").select_option("keep")
    page.get_by_label("Due").fill("2099-01-01T09:00")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("campaign-report")).to_contain_text("0 of ")
    campaign = Campaign.objects.get(name="Frontend Q4")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "priya.patel@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    mine = list(ReviewItem.objects.filter(campaign=campaign, reviewer_okta_id=priya_id))
    maya = next(item for item in mine if item.subject_id == maya_id)
    expect(page.locator(f"#review-item-{maya.pk}")).to_contain_text("Obtained outside Gatehouse")
    page.locator(f"#select-{maya.pk}").check()
    page.get_by_role("button", name="Revoke selected").click()
    expect(page.locator(f"#review-item-{maya.pk}")).to_contain_text("Revoke by priya")
    others = [item for item in mine if item.pk != maya.pk]
    for item in others:
        page.locator(f"#select-{item.pk}").check()
    if others:
        page.get_by_role("button", name="Keep selected").click()
        expect(
            page.get_by_role("status").filter(has_text=f"Kept {len(others)} item(s).")
        ).to_be_visible()
    celery_worker.wait_for(
        lambda: ReviewItem.objects.get(pk=maya.pk).okta_outcome == OktaOutcome.SUCCEEDED,
        timeout=WORKER_TIMEOUT,
        what="the revocation to reach Okta",
    )
    assert FRONTEND not in gatehouse.okta.user_state(maya_id)["groups"]
    page.reload()
    expect(page.locator(f"#review-item-{maya.pk}")).to_contain_text("Removed in Okta")
    assert set(
        ReviewItem.objects.filter(pk__in=[i.pk for i in others]).values_list("decision", flat=True)
    ) <= {Decision.KEEP}
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "tessa.nguyen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name="Campaigns and reports").click()
    page.get_by_role("link", name="Frontend Q4").click()
    expect(page.get_by_test_id("campaign-report")).to_contain_text("1 removed in Okta")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download evidence (CSV)").click()
    path = download_info.value.path()
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    head_id, head_hash = int(rows[1][1]), rows[2][1]
    report = chain_verify()
    assert report.ok and report.head_id == head_id and report.head_hash == head_hash
    revoked = [row for row in rows[5:] if row[5] == maya_id]
    assert revoked and "revoke" in revoked[0] and "succeeded" in revoked[0]
