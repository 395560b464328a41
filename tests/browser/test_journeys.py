"""Journeys in a real browser, with a real worker, the Okta sandbox and the live server:

- maya asks for a group and an app under a two-stage policy; priya (her manager) approves the
  first stage and omar (an approver-group member) the second; the worker fulfils both in Okta;
  maya sees them in "My access";
- priya denies a request with a reason, and maya reads the reason on her request;
- an auditor filters the trail to one request and exports what the filter shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from approvals.models import (
    AccessRequest,
    ApproverKind,
    CatalogItem,
    ItemKind,
    Policy,
    PolicyStage,
    RequestStatus,
)
from okta.models import GroupMembership, OktaApp, OktaGroup
from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from okta.sync import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.conftest import (  # noqa: F401 - fixtures used by name
    Gatehouse,
    browser,
    gatehouse,
    page,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAYA = "maya.chen@acme.com"
PRIYA = "priya.patel@acme.com"
OMAR = "omar.haddad@acme.com"
BACKEND = "Engineering - Backend"
APP = "Salesforce"  # maya (Engineering) does not have it


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def catalog(policy_name: str = "Manager then approver group") -> tuple[CatalogItem, CatalogItem]:
    """Mirror acme; publish Engineering - Backend and Notion under a two-stage policy
    (manager, then a member of the "Journey approvers" group, which omar is in)."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor="test", kind="full").pk)
    policy, _ = Policy.objects.get_or_create(name=policy_name)
    PolicyStage.objects.get_or_create(policy=policy, position=1, approvers=ApproverKind.MANAGER)
    PolicyStage.objects.get_or_create(
        policy=policy, position=2, approvers=ApproverKind.APPROVER_GROUP
    )
    approvers = OktaGroup.objects.create(id="00gjourneyapprover0", name="Journey approvers")
    GroupMembership.objects.create(group=approvers, user_id=acme_user_id(OMAR))
    common = {
        "policy": policy,
        "approver_group": approvers,
        "default_duration_days": 30,
        "max_duration_days": 90,
        "published": True,
    }
    group = CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=OktaGroup.objects.get(pk=acme_group_id(BACKEND)),
        name=BACKEND,
        **common,
    )
    app = CatalogItem.objects.create(
        kind=ItemKind.APP, app=OktaApp.objects.get(pk=acme_app_id(APP)), name=APP, **common
    )
    return group, app


def ask(tab: Page, name: str, reason: str) -> AccessRequest:
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    tab.get_by_label("Search").fill(name)
    tab.get_by_role("link", name=f"Request access to {name}").click()
    tab.get_by_label("Why do you need it?").fill(reason)
    tab.get_by_role("button", name="Send request").click()
    expect(tab.get_by_test_id("request-status")).to_contain_text("Pending approval")
    return AccessRequest.objects.filter(item__name=name).latest("pk")


def decide_in_inbox(tab: Page, req: AccessRequest, outcome: str, comment: str) -> None:
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    row = tab.locator(f"#inbox-row-{req.pk}")
    row.get_by_label("Comment").fill(comment)
    row.get_by_role("button", name=f"{outcome} #{req.pk}").click()
    expect(tab.locator(f"#inbox-row-{req.pk}")).to_contain_text("decision recorded")


def sign_out(tab: Page) -> None:
    tab.get_by_role("button", name="Sign out").click()


def test_two_stage_group_and_app_approved_fulfilled_and_shown(
    page: Page,  # noqa: F811 - the browser fixtures imported above
    gatehouse: Gatehouse,  # noqa: F811
    sign_in: Callable[[Page, str], None],  # noqa: F811
    celery_worker: Any,
) -> None:
    maya_id = acme_user_id(MAYA)
    group_item, _ = catalog()
    sign_in(page, MAYA)
    requests = [
        ask(page, BACKEND, "Joining the payments backend team"),
        ask(page, APP, "Team docs live there"),
    ]
    sign_out(page)

    sign_in(page, PRIYA)
    for req in requests:
        decide_in_inbox(page, req, "Approve", "Manager: yes")
    sign_out(page)
    for req in requests:
        req.refresh_from_db()
        assert req.status == RequestStatus.PENDING and req.current_stage == 2

    sign_in(page, OMAR)
    for req in requests:
        decide_in_inbox(page, req, "Approve", "Approver group: yes")
    for req in requests:
        celery_worker.wait_for(
            lambda req=req: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED,
            timeout=90,
            what=f"request {req.pk} to complete",
        )
    state = gatehouse.okta.user_state(maya_id)
    assert BACKEND in state["groups"] and APP in state["apps"]
    sign_out(page)

    sign_in(page, MAYA)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My access").click()
    expect(page.locator(f"#group-{group_item.group_id}")).to_contain_text(BACKEND)
    expect(page.locator("main")).to_contain_text(APP)


def test_denied_request_shows_the_reason_to_the_requester(
    page: Page,  # noqa: F811
    gatehouse: Gatehouse,  # noqa: F811
    sign_in: Callable[[Page, str], None],  # noqa: F811
) -> None:
    catalog()
    sign_in(page, MAYA)
    req = ask(page, BACKEND, "Curious about the backend")
    sign_out(page)
    sign_in(page, PRIYA)
    decide_in_inbox(page, req, "Deny", "Not needed for the frontend roadmap")
    sign_out(page)
    sign_in(page, MAYA)
    page.goto(f"{gatehouse.url}/requests/{req.pk}/")
    expect(page.get_by_test_id("request-status")).to_contain_text("Denied")
    expect(page.locator("main")).to_contain_text("Not needed for the frontend roadmap")
    assert BACKEND not in gatehouse.okta.user_state(acme_user_id(MAYA))["groups"]


def test_auditor_filters_the_trail_and_exports_it(
    page: Page,  # noqa: F811
    gatehouse: Gatehouse,  # noqa: F811
    sign_in: Callable[[Page, str], None],  # noqa: F811
) -> None:
    catalog()
    sign_in(page, MAYA)
    ask(page, BACKEND, "Needed for the audit journey")
    ask(page, APP, "Docs")
    sign_out(page)

    sign_in(page, "tessa.nguyen@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.locator("#audit-results")).to_contain_text(APP)
    page.get_by_label("Actor").fill(MAYA)
    expect(page).to_have_url(f"{gatehouse.url}/audit/?actor=maya.chen%40acme.com", timeout=5000)
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert rows, "the export is empty"
    assert all(MAYA in " ".join(row.values()) for row in rows)
    assert any(BACKEND in " ".join(row.values()) for row in rows)
