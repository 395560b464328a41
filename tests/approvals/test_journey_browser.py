"""The whole access journey in a real browser, a real worker and the Okta sandbox:
maya asks for "Engineering - Backend", priya approves in her inbox, the worker adds maya in Okta,
maya sees it in "My access", the grant expires and she is removed, and the audit trail has it all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from approvals import services
from approvals.demo import demo_catalog_publish
from approvals.models import AccessRequest, Grant, GrantStatus, RequestStatus
from audit.models import AuditEvent
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BACKEND = "Engineering - Backend"
WORKER_TIMEOUT = 180  # seconds: a worker on a loaded two-core machine can be slow, never wrong


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_request_approve_fulfil_expire_journey(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    maya_id, backend_id = acme_user_id("maya.chen@acme.com"), acme_group_id(BACKEND)
    assert BACKEND not in gatehouse.okta.user_state(maya_id)["groups"]
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor="test", kind="full").pk)
    assert demo_catalog_publish() >= 1

    sign_in(page, "maya.chen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_label("Search").fill("backend")
    # The search answered when its query is in the address bar (hx-push-url after the swap).
    expect(page).to_have_url(re.compile(r"[?&]q=backend(&|$)"))
    expect(page.locator("#results")).not_to_contain_text("VPN Users")
    page.get_by_role("link", name=f"Request access to {BACKEND}").click()
    page.get_by_label("Why do you need it?").fill("Joining the payments backend team")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Pending approval")
    req = AccessRequest.objects.get(subject_id=maya_id)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "priya.patel@acme.com")
    expect(page.get_by_test_id("inbox-count")).to_contain_text("1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    row = page.locator(f"#inbox-row-{req.pk}")
    row.get_by_label("Comment").fill("Welcome aboard")
    row.get_by_role("button", name=f"Approve #{req.pk}").click()
    expect(page.locator(f"#inbox-row-{req.pk}")).to_contain_text("decision recorded")
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED,
        timeout=WORKER_TIMEOUT,
        what="the request to complete",
    )
    assert BACKEND in gatehouse.okta.user_state(maya_id)["groups"]
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "maya.chen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My access").click()
    expect(page.locator(f"#group-{backend_id}")).to_contain_text("UTC")  # ends on a date
    grant = Grant.objects.get(request=req)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    assert services.grants_revoke_due() == 1
    celery_worker.wait_for(
        lambda: Grant.objects.get(pk=grant.pk).status == GrantStatus.REVOKED,
        timeout=WORKER_TIMEOUT,
        what="the grant to be revoked",
    )
    assert BACKEND not in gatehouse.okta.user_state(maya_id)["groups"]
    page.reload()
    expect(page.locator(f"#group-{backend_id}")).to_have_count(0)
    trail = set(
        AuditEvent.objects.filter(target_id__in=[str(req.pk), str(grant.pk)]).values_list(
            "action", flat=True
        )
    )
    assert {
        "access_request.submitted",
        "access_request.decided",
        "access_request.approved",
        "access_request.completed",
        "grant.revoked",
    } <= trail
