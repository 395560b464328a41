"""Identity actions through a real Celery worker and the Okta sandbox: the outbox runs the
operations, and identity's callback task follows a user creation with its app assignments."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from identity import bulk, services
from identity.models import Action
from okta.models import Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.identity.conftest import FINANCE_STALE, Acme, bulk_start, new_person

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def all_done(correlation: str, count: int) -> bool:
    statuses = list(
        Operation.objects.filter(correlation=correlation).values_list("status", flat=True)
    )
    return len(statuses) == count and all(s == OperationStatus.SUCCEEDED for s in statuses)


def test_user_create_with_apps_through_a_real_worker(celery_worker: Any, okta_sandbox: Any) -> None:
    acme = Acme(okta_sandbox)
    with transaction.atomic():
        req = services.action_submit(
            actor=acme.u["sam"],
            action=Action.USER_CREATE,
            variant="create",
            params=new_person(
                "wes.worker@acme.com",
                group_ids=[acme_group_id("New Hires - April")],
                app_ids=[acme_app_id("Zoom"), acme_app_id("Notion")],
            ),
        )
    celery_worker.wait_for(
        lambda: all_done(req.correlation, 3), timeout=60, what="the user and two assignments"
    )
    state = okta_sandbox.user_state("wes.worker@acme.com")
    assert state["status"] == "PROVISIONED"  # activated by email: waits for the person
    assert "New Hires - April" in state["groups"]
    assert {"Zoom", "Notion"} <= set(state["apps"])


def test_bulk_suspend_through_a_real_worker(celery_worker: Any, okta_sandbox: Any) -> None:
    acme = Acme(okta_sandbox)
    with transaction.atomic():
        preview, run = bulk_start(acme.u["sam"], "suspend", FINANCE_STALE)
    with transaction.atomic():  # suspend needs a second admin, in bulk too
        bulk.bulk_second_confirm(actor=acme.u["dana"], run_id=run.pk)
    celery_worker.wait_for(
        lambda: bulk.bulk_progress(run).finished, timeout=60, what="the bulk run"
    )
    assert bulk.bulk_progress(run).succeeded == 8
    for row in preview.rows:
        if not row.skip:
            assert okta_sandbox.user_state(row.user_id)["status"] == "SUSPENDED"
