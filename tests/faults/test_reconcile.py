"""A request whose operations all finished but whose callback message was lost (the worker
killed between recording Okta's answer and the callback; found by the fault suite) is finished
by the beat-run reconciler, once, and only after the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import AccessRequest, CatalogItem, Grant, RequestStatus
from audit.models import AuditEvent
from okta import operations as okta_operations
from okta.models import Operation, OperationStatus
from tests.approvals.conftest import People

pytestmark = pytest.mark.django_db


def approved(people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(okta_operations, "_queue", lambda pk, countdown=None: None)
    req = services.access_request_submit(
        requester=people.u["maya"], item=backend, reason="on-call", duration_days=30
    )
    services.access_request_decide(
        actor=people.u["priya"], request_id=req.pk, outcome="APPROVE", comment="ok"
    )
    return req.pk


def test_reconcile_finishes_request_whose_callback_was_lost(
    people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = approved(people, backend, monkeypatch)
    long_ago = timezone.now() - timedelta(minutes=10)
    AccessRequest.objects.filter(pk=pk).update(decided_at=long_ago)
    Operation.objects.filter(correlation=f"request:{pk}").update(
        status=OperationStatus.SUCCEEDED, okta_status=204, finished_at=long_ago
    )
    assert services.access_requests_reconcile() == 1
    assert AccessRequest.objects.get(pk=pk).status == RequestStatus.COMPLETED
    assert Grant.objects.filter(request_id=pk).count() == 1
    assert AuditEvent.objects.filter(action="access_request.completed", target_id=str(pk)).exists()
    assert services.access_requests_reconcile() == 0  # once


def test_reconcile_leaves_running_and_recent_operations_alone(
    people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = approved(people, backend, monkeypatch)
    AccessRequest.objects.filter(pk=pk).update(decided_at=timezone.now() - timedelta(minutes=10))
    assert services.access_requests_reconcile() == 0  # operation still pending: the reaper's
    Operation.objects.filter(correlation=f"request:{pk}").update(
        status=OperationStatus.SUCCEEDED, finished_at=timezone.now()
    )
    assert services.access_requests_reconcile() == 0  # its callback may still be on its way
    assert AccessRequest.objects.get(pk=pk).status != RequestStatus.COMPLETED
