"""Journeys in a real browser, with a real worker, the Okta sandbox and the live server:

- maya asks for a group and an app under a two-stage policy; priya (her manager) approves the
  first stage and omar (an approver-group member) the second; the worker fulfils both in Okta;
  maya sees them in "My access";
- priya denies a request with a reason, and maya reads the reason on her request;
- Okta refuses an approved request for good (the sandbox answers 403 E0000006): maya reads
  Okta's message, an admin finds the failure on the dashboard and in the operation queue, the
  refusal is lifted, the admin presses Retry, the worker fulfils, maya has the access, and the
  audit trail says failed, retried, then completed;
- an auditor filters the trail to one request and exports what the filter shows.
"""

from __future__ import annotations

import csv
import io
import re
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
from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.models import GroupMembership, OktaApp, OktaGroup, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import Gatehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAYA = "maya.chen@acme.com"
PRIYA = "priya.patel@acme.com"
OMAR = "omar.haddad@acme.com"
SAM = "sam.rivera@acme.com"  # a Gatehouse admin
WORKER_TIMEOUT = 180  # seconds: a worker on a loaded two-core machine can be slow, never wrong
BACKEND = "Engineering - Backend"
APP = "Salesforce"  # maya (Engineering) does not have it


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def catalog(
    policy_name: str = "Manager then approver group",
    stages: tuple[str, ...] = (ApproverKind.MANAGER, ApproverKind.APPROVER_GROUP),
) -> tuple[CatalogItem, CatalogItem]:
    """Mirror acme; publish Engineering - Backend and Salesforce under a policy whose stages
    are ``stages``: by default two (manager, then a member of the "Journey approvers" group,
    which omar is in)."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    policy, _ = Policy.objects.get_or_create(name=policy_name)
    for position, kind in enumerate(stages, start=1):
        PolicyStage.objects.get_or_create(policy=policy, position=position, approvers=kind)
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
    expect(tab).to_have_url(re.compile(r"[?&]q="))  # the search has answered
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
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
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
            timeout=WORKER_TIMEOUT,
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
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
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
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
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
    expect(page).to_have_url(f"{gatehouse.url}/audit/?actor=maya.chen%40acme.com")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert rows, "the export is empty"
    assert all(MAYA in " ".join(row.values()) for row in rows)
    assert any(BACKEND in " ".join(row.values()) for row in rows)


def test_admin_retries_a_failed_request_after_okta_stops_refusing(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    celery_worker: Any,
) -> None:
    maya_id, backend_id = acme_user_id(MAYA), acme_group_id(BACKEND)
    catalog("Journey manager approval", stages=(ApproverKind.MANAGER,))
    # Okta refuses, permanently, to add anyone to the group: no retry of the worker can help.
    gatehouse.okta.set_faults(
        refuse_code="E0000006", method="PUT", path_prefix=f"/api/v1/groups/{backend_id}/users"
    )
    sign_in(page, MAYA)
    req = ask(page, BACKEND, "Joining the payments backend team")
    sign_out(page)
    sign_in(page, PRIYA)
    decide_in_inbox(page, req, "Approve", "Manager: yes")
    sign_out(page)
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.FAILED,
        timeout=WORKER_TIMEOUT,
        what=f"request {req.pk} to fail",
    )
    op = Operation.objects.get(correlation=f"request:{req.pk}")
    assert (op.status, op.okta_status, op.error_code) == (OperationStatus.FAILED, 403, "E0000006")
    assert op.attempts == 1  # a permanent refusal is not retried by the worker
    assert gatehouse.okta.counters()["refused"] == 1

    okta_message = "You do not have permission to perform the requested action"
    sign_in(page, MAYA)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    expect(page.locator(f"#request-{req.pk}")).to_contain_text("Failed")
    page.locator(f"#request-{req.pk}").get_by_role("link", name=BACKEND).click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Failed")
    refusal = page.get_by_role("alert").filter(has_text="Okta refused the change")
    expect(refusal).to_contain_text(okta_message)
    expect(refusal).to_contain_text("E0000006")
    sign_out(page)

    sign_in(page, SAM)
    expect(page.locator("main")).to_contain_text("1 failed request")
    page.get_by_role("link", name="review and retry").click()
    expect(page).to_have_url(f"{gatehouse.url}/manage/operations/?status=FAILED")
    row = page.locator(f"#operation-{op.pk}")
    expect(row).to_contain_text(f"#{req.pk} {BACKEND}")
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text(f"HTTP 403 E0000006 {okta_message}")

    gatehouse.okta.clear_faults()
    row.get_by_role("button", name=f"Retry request #{req.pk}").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Request #{req.pk} sent to Okta again.")
    ).to_be_visible()
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED,
        timeout=WORKER_TIMEOUT,
        what=f"request {req.pk} to complete after the retry",
    )
    assert BACKEND in gatehouse.okta.user_state(maya_id)["groups"]
    # The queue refreshes itself while the operation is pending: no reload needed.
    expect(page.locator(f"#operation-{op.pk}")).to_contain_text("Succeeded")
    expect(page.locator(f"#operation-{op.pk}")).to_contain_text("HTTP 204")
    sign_out(page)

    sign_in(page, MAYA)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My access").click()
    expect(page.locator(f"#group-{backend_id}")).to_contain_text(BACKEND)
    page.goto(f"{gatehouse.url}/requests/{req.pk}/")
    expect(page.get_by_test_id("request-status")).to_contain_text("Completed")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Okta refused the change")
    expect(timeline).to_contain_text("Retrying the change in Okta")
    expect(timeline).to_contain_text("Okta made the change")

    request_trail = list(
        AuditEvent.objects.filter(action__startswith="access_request.", target_id=str(req.pk))
        .order_by("pk")
        .values_list("action", "actor")
    )
    assert request_trail[-3:] == [
        ("access_request.failed", "okta"),
        ("access_request.retried", SAM),
        ("access_request.completed", "okta"),
    ]
    operation_trail = list(
        AuditEvent.objects.filter(action__startswith="okta.operation.", detail__operation_id=op.pk)
        .order_by("pk")
        .values_list("action", "outcome")
    )
    assert operation_trail == [
        ("okta.operation.queued", "success"),
        ("okta.operation.failed", "failure"),
        ("okta.operation.retried", "success"),
        ("okta.operation.succeeded", "success"),
    ]
