"""Bulk operations against the Okta sandbox: the seed prompts, the stale-preview guard, the
second-admin guard above the size threshold, one failure not stopping the rest, retries."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from identity import bulk, services
from identity.guardrails import ActionRefused
from identity.models import Action, ActionPolicy, BulkItem, BulkRun, BulkStatus
from okta.models import OktaUser, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.identity.conftest import FINANCE_STALE, Acme, Run, bulk_start

pytestmark = pytest.mark.django_db


def test_bulk_suspend_finance_not_signed_in_for_60_days(acme: Acme, run_ops: Run) -> None:
    preview, run = bulk_start(acme.u["sam"], "suspend", FINANCE_STALE)
    # suspend's policy wants a second admin: in bulk too, whatever the size
    assert preview.changing == 8 and preview.needs_second_admin
    ids = [r.user_id for r in preview.rows if not r.skip]
    assert run.status == BulkStatus.AWAITING_CONFIRMATION
    assert not Operation.objects.exists() and acme.state(ids[0])["status"] == "ACTIVE"
    run = bulk.bulk_second_confirm(actor=acme.u["dana"], run_id=run.pk)
    assert run.status == BulkStatus.RUNNING
    ops = run_ops(run.correlation)
    assert len(ops) == 8 and all(o.status == OperationStatus.SUCCEEDED for o in ops)
    assert all(acme.state(i)["status"] == "SUSPENDED" for i in ids)
    progress = bulk.bulk_progress(run)
    assert progress.finished and progress.succeeded == 8 and progress.percent == 100
    assert AuditEvent.objects.filter(action="identity.bulk.confirmed", target_id=str(run.pk))
    # nobody else in Finance was touched
    others = OktaUser.objects.filter(department="Finance").exclude(pk__in=ids)
    assert all(acme.state(u.pk)["status"] != "SUSPENDED" or u.status == "SUSPENDED" for u in others)


def test_bulk_new_hires_get_slack_zoom_notion(acme: Acme, run_ops: Run) -> None:
    apps = [acme_app_id("Slack"), acme_app_id("Zoom"), acme_app_id("Notion")]
    selection = {"group_id": acme_group_id("New Hires - April")}
    preview = bulk.bulk_preview(
        actor=acme.u["sam"], action="app_assign", params={"app_ids": apps}, selection=selection
    )
    assert len(preview.rows) == 30  # ten people, three apps each
    ActionPolicy.objects.filter(action=Action.APP_ASSIGNMENT).update(bulk_confirm_threshold=100)
    run = bulk.bulk_confirm(
        actor=acme.u["sam"],
        action="app_assign",
        params={"app_ids": apps},
        selection=selection,
        preview_hash=preview.hash,
    )
    ops = run_ops(run.correlation)
    assert ops and all(o.status == OperationStatus.SUCCEEDED for o in ops)
    for user_id in {r.user_id for r in preview.rows}:
        assert {"Slack", "Zoom", "Notion"} <= set(acme.state(user_id)["apps"])


def test_bulk_stale_preview_is_refused_and_changes_nothing(acme: Acme) -> None:
    preview = bulk.bulk_preview(
        actor=acme.u["sam"], action="suspend", params={}, selection=FINANCE_STALE
    )
    victim = next(r.user_id for r in preview.rows if not r.skip)
    OktaUser.objects.filter(pk=victim).update(department="Sales")  # the directory moved on
    before = acme.sandbox.counters()["writes"]
    with pytest.raises(ActionRefused, match="changed since the preview"):
        bulk.bulk_confirm(
            actor=acme.u["sam"],
            action="suspend",
            params={},
            selection=FINANCE_STALE,
            preview_hash=preview.hash,
        )
    assert not BulkRun.objects.exists() and not Operation.objects.exists()
    assert acme.sandbox.counters()["writes"] == before


def test_bulk_above_threshold_needs_a_second_admin(acme: Acme, run_ops: Run) -> None:
    small = bulk.bulk_preview(
        actor=acme.u["sam"], action="sessions_clear", params={}, selection=FINANCE_STALE
    )
    assert small.changing == 8 and not small.needs_second_admin  # no approval, under 50
    ActionPolicy.objects.filter(action=Action.SESSIONS_CLEAR).update(bulk_confirm_threshold=5)
    preview, run = bulk_start(acme.u["sam"], "sessions_clear", FINANCE_STALE)
    assert preview.needs_second_admin
    assert run.status == BulkStatus.AWAITING_CONFIRMATION
    assert not Operation.objects.filter(correlation=run.correlation).exists()
    with pytest.raises(ActionRefused, match="second admin"):
        bulk.bulk_second_confirm(actor=acme.u["sam"], run_id=run.pk)
    with pytest.raises(ActionRefused, match="second admin"):
        bulk.bulk_second_confirm(actor=acme.u["jordan"], run_id=run.pk)
    bulk.bulk_second_confirm(actor=acme.u["dana"], run_id=run.pk)
    ops = run_ops(run.correlation)
    assert len(ops) == 8 and all(o.status == OperationStatus.SUCCEEDED for o in ops)


def test_bulk_skips_privileged_and_self(acme: Acme) -> None:
    selection = {"department": "IT", "status": "ACTIVE"}
    preview = bulk.bulk_preview(
        actor=acme.u["dana"], action="suspend", params={}, selection=selection
    )
    skipped = {r.user_id: r.skip for r in preview.rows if r.skip}
    assert "privileged" in skipped[acme.id["sam"]]
    dana_preview = bulk.bulk_preview(
        actor=acme.u["sam"], action="suspend", params={}, selection=selection
    )
    assert "own account" in {r.user_id: r.skip for r in dana_preview.rows}[acme.id["sam"]]


def test_bulk_one_failure_does_not_stop_the_rest_and_retry_failures_only(
    acme: Acme, run_ops: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okta import operations

    monkeypatch.setattr(operations, "MAX_ATTEMPTS", 1)  # Okta keeps failing: give up at once
    group = acme_group_id("VPN Users")
    logins = ["john.doe@acme.com", "maya.chen@acme.com", "priya.patel@acme.com"]
    _, run = bulk_start(acme.u["sam"], "group_add", {"logins": logins}, {"group_id": group})
    # Okta keeps failing maya's membership (a fault on her path); the others go through.
    acme.sandbox.set_faults(
        error_rate=1.0,
        error_status=503,
        path_prefix=f"/api/v1/groups/{group}/users/{acme.id['maya']}",
    )
    ops = run_ops(run.correlation)
    by_user = {o.params["user_id"]: o for o in ops}
    assert by_user[acme.id["john"]].status == OperationStatus.SUCCEEDED
    assert by_user[acme.id["priya"]].status == OperationStatus.SUCCEEDED
    assert by_user[acme.id["maya"]].status == OperationStatus.FAILED
    progress = bulk.bulk_progress(run)
    assert progress.finished and progress.failed == 1
    acme.sandbox.clear_faults()
    assert bulk.bulk_retry_failures(actor=acme.u["sam"], run_id=run.pk) == 1
    ops = run_ops(run.correlation)
    assert all(o.status == OperationStatus.SUCCEEDED for o in ops)
    assert "VPN Users" in acme.state("maya")["groups"]
    assert bulk.bulk_progress(run).succeeded == 3
    assert BulkItem.objects.filter(run=run, operation_id__isnull=True).count() == 0


def test_bulk_refuses_non_okta_group_and_non_admins(acme: Acme) -> None:
    from okta.models import OktaGroup

    builtin = OktaGroup.objects.get(name="Everyone")
    with pytest.raises(ActionRefused, match="BUILT_IN"):
        bulk.bulk_preview(
            actor=acme.u["sam"],
            action="group_add",
            params={"group_id": builtin.pk},
            selection={"department": "Finance"},
        )
    with pytest.raises(ActionRefused, match="Only admins"):
        bulk.bulk_preview(
            actor=acme.u["jordan"], action="suspend", params={}, selection=FINANCE_STALE
        )


def test_bulk_empty_search_selects_nobody(acme: Acme) -> None:
    preview = bulk.bulk_preview(actor=acme.u["sam"], action="suspend", params={}, selection={})
    assert preview.rows == []


def test_admin_role_report_lists_roles_and_groups(acme: Acme) -> None:
    rows = {
        p.login: (roles, groups)
        for p, roles, groups in services.admin_role_report(["HELP_DESK_ADMIN", "SUPER_ADMIN"])
    }
    assert rows["sam.rivera@acme.com"][0] == ["SUPER_ADMIN"]
    assert "Gatehouse Admins" in rows["sam.rivera@acme.com"][1]
    assert "HELP_DESK_ADMIN" in rows["jordan.lee@acme.com"][0]
    assert "maya.chen@acme.com" not in rows
