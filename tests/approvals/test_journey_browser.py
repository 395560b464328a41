"""The whole access journey in a real browser, a real worker and the Okta sandbox:
maya asks for "Engineering - Backend", priya approves in her inbox, the worker adds maya in Okta,
maya sees it in "My access", the grant expires and she is removed, and the audit trail has it all;
an admin ends someone's grant from the active grants page, inline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from approvals.demo import demo_catalog_publish
from approvals.models import (
    AccessRequest,
    ApproverKind,
    CatalogItem,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    PolicyStage,
    RequestStatus,
)
from approvals.services.requests import access_request_submit
from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.models import OktaGroup
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
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
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
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
    # What the demo does rather than wait the 30 days (README: "Watch access expire").
    out = StringIO()
    call_command("approvals_run_due", "--at", "+31d", stdout=out)
    assert "1 grant removal(s) sent to Okta" in out.getvalue()
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


def test_admin_ends_a_grant_inline_with_a_reason(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    queued: list[int],
) -> None:
    """The row becomes the form with focus in it; an empty reason is refused in place (focus on
    the field); a reason ends it and the row says so, as a status."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    demo_catalog_publish()
    maya_id = acme_user_id("maya.chen@acme.com")
    maya = User.objects.create(username="maya.chen@acme.com", okta_id=maya_id)
    item = CatalogItem.objects.get(name=BACKEND)
    req = AccessRequest.objects.create(
        item=item,
        requester=maya,
        subject_id=maya_id,
        subject_label="Maya Chen",
        status=RequestStatus.COMPLETED,
        policy_name="Manager approval",
        pending_until=timezone.now(),
    )
    grant = Grant.objects.create(request=req, item=item, subject_id=maya_id)

    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{gatehouse.url}/manage/grants/")
    row = page.locator(f"#grant-{grant.pk}")
    expect(row).to_contain_text("Permanent")
    row.get_by_role("link", name=f"End now {BACKEND} for Maya Chen").click()
    reason = page.get_by_label("Why does this access end?")
    expect(reason).to_be_focused()
    reason.evaluate("field => field.removeAttribute('required')")  # let the server refuse it
    page.get_by_role("button", name=re.compile("End access now")).click()
    expect(page.get_by_label("Why does this access end?")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Why does this access end?")).to_be_focused()
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.ACTIVE
    page.get_by_label("Why does this access end?").fill("Moved to the data team")
    page.get_by_role("button", name=re.compile("End access now")).click()
    status = page.locator(f"#grant-{grant.pk}").get_by_role("status")
    expect(status).to_contain_text("Being removed")
    expect(status).to_be_focused()
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.REVOKING
    assert AuditEvent.objects.filter(
        action="grant.revoke_started", target_id=str(grant.pk), actor="sam.rivera@acme.com"
    ).exists()


def test_approver_selects_every_request_shown_and_decides_them_together(
    page: Page,
    gatehouse: Gatehouse,
    sign_in: Callable[[Page, str], None],
    queued: list[int],
) -> None:
    """ "Select every request shown" ticks each row, says how many are ticked, turns mixed when
    one is unticked, and the bulk approval decides exactly the ticked ones."""

    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    demo_catalog_publish()
    maya_id = acme_user_id("maya.chen@acme.com")
    maya = User.objects.create(username="maya.chen@acme.com", okta_id=maya_id)
    names = ["Engineering - Backend", "Data Warehouse Readers", "AWS Production"]
    requests = [
        access_request_submit(
            requester=maya, item=CatalogItem.objects.get(name=name), reason="Q1", duration_days=1
        )
        for name in names
    ]

    sign_in(page, "priya.patel@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    select_all = page.get_by_label("Select every request shown")
    select_all.check()
    for req in requests:
        expect(page.locator(f"#select-{req.pk}")).to_be_checked()
    expect(page.get_by_text("3 of 3 selected")).to_be_visible()
    page.locator(f"#select-{requests[2].pk}").uncheck()
    expect(page.get_by_text("2 of 3 selected")).to_be_visible()
    assert select_all.evaluate("box => box.indeterminate") is True
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_text("Decided 2 request(s).")).to_be_visible()
    statuses = [AccessRequest.objects.get(pk=req.pk).status for req in requests]
    # Approved, and on their way to Okta (their operations are queued).
    assert statuses[2] == RequestStatus.PENDING
    assert {statuses[0], statuses[1]} <= {RequestStatus.APPROVED, RequestStatus.FULFILLING}
    assert len(queued) == 2
    expect(page.locator(f"#inbox-row-{requests[2].pk}")).to_be_visible()
    expect(page.get_by_text("1 of 1 selected")).to_have_count(0)


def test_admin_adds_an_item_choosing_its_policy_and_the_approver_group_it_needs(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    """The form starts with no owners and no policy chosen; a policy that needs an approver
    group is refused on that field until one is given; nothing is saved until then."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)

    sign_in(page, "sam.rivera@acme.com")
    page.goto(f"{gatehouse.url}/manage/catalog/")
    page.get_by_label("Group or app name").fill(BACKEND)
    page.get_by_role("link", name=f"Add {BACKEND}").click()
    expect(page.get_by_label("Owners")).to_have_value("")
    expect(page.get_by_label("Policy")).to_have_value("")
    page.get_by_label("Policy").select_option(label="Approver group (The item's approver group)")
    page.get_by_role("button", name="Save").click()
    approver_group = page.get_by_label("Approver group")
    expect(approver_group).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_approver_group_errors")).to_contain_text(
        "The policy “Approver group” asks the item's approver group to decide"
    )
    assert not CatalogItem.objects.exists()
    approver_group.fill("Backend Leads")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status"))).to_contain_text(
        f"Saved {BACKEND}."
    )
    item = CatalogItem.objects.get()
    assert item.owners == [] and item.approver_group_id == acme_group_id("Backend Leads")
    assert item.policy.name == "Approver group"


def test_manager_approving_stage_one_reads_who_decides_next(
    page: Page, gatehouse: Gatehouse, sign_in: Callable[[Page, str], None]
) -> None:
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    policy = Policy.objects.create(name="Manager then approvers")
    for position, kind in enumerate((ApproverKind.MANAGER, ApproverKind.APPROVER_GROUP), 1):
        PolicyStage.objects.create(policy=policy, position=position, approvers=kind)
    leads = OktaGroup.objects.get(pk=acme_group_id("Backend Leads"))
    item = CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=OktaGroup.objects.get(pk=acme_group_id(BACKEND)),
        name=BACKEND,
        policy=policy,
        approver_group=leads,
        default_duration_days=30,
        max_duration_days=90,
        published=True,
    )
    maya = User.objects.create(
        username="maya.chen@acme.com", okta_id=acme_user_id("maya.chen@acme.com")
    )
    req = access_request_submit(requester=maya, item=item, reason="on-call", duration_days=30)

    sign_in(page, "priya.patel@acme.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    row = page.locator(f"#inbox-row-{req.pk}")
    expect(row.get_by_role("heading")).to_contain_text(f"{BACKEND} for Maya Chen")
    row.get_by_role("button", name=f"Approve #{req.pk}").click()
    status = page.locator(f"#inbox-row-{req.pk}").get_by_role("status")
    expect(status).to_contain_text("Approved at stage 1 of 2; now waiting for Backend Leads (")
    expect(status).not_to_contain_text("Pending approval")
    assert AccessRequest.objects.get(pk=req.pk).current_stage == 2
