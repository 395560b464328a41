"""A request whose operations all finished but whose callback message was lost (the worker
killed between recording Okta's answer and the callback; found by the fault suite) is finished
by the beat-run reconciler, once, and only after the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import AccessRequest, CatalogItem, Grant, RequestStatus
from approvals.services import outcomes
from approvals.services.decisions import access_request_decide
from approvals.services.outcomes import access_requests_reconcile
from approvals.services.requests import access_request_submit
from audit.models import AuditEvent
from okta import operations as okta_operations
from okta.models import Operation, OperationStatus
from tests.approvals.conftest import People, item_make
from tests.fixtures.dispatch import tasks_hold

pytestmark = pytest.mark.django_db


def approved(people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch) -> int:
    tasks_hold(monkeypatch, okta_operations.OPERATION_RUN_TASK)
    req = access_request_submit(
        requester=people.u["maya"], item=backend, reason="on-call", duration_days=30
    )
    access_request_decide(
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
    assert access_requests_reconcile() == 1
    assert AccessRequest.objects.get(pk=pk).status == RequestStatus.COMPLETED
    assert Grant.objects.filter(request_id=pk).count() == 1
    assert AuditEvent.objects.filter(action="access_request.completed", target_id=str(pk)).exists()
    assert access_requests_reconcile() == 0  # once


def test_reconcile_leaves_running_and_recent_operations_alone(
    people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = approved(people, backend, monkeypatch)
    AccessRequest.objects.filter(pk=pk).update(decided_at=timezone.now() - timedelta(minutes=10))
    assert access_requests_reconcile() == 0  # operation still pending: the reaper's
    Operation.objects.filter(correlation=f"request:{pk}").update(
        status=OperationStatus.SUCCEEDED, finished_at=timezone.now()
    )
    assert access_requests_reconcile() == 0  # its callback may still be on its way
    assert AccessRequest.objects.get(pk=pk).status != RequestStatus.COMPLETED


def test_reconcile_skips_a_backlog_in_flight_in_constant_queries(
    people: People, backend: CatalogItem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests whose operations are still queued (a big approval backlog being drained) are
    left out in SQL, so a lost callback behind more of them than one run looks at is found, and
    a run asks the same number of queries however many are in flight."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(outcomes, "RECONCILE_BATCH", 2)
    long_ago = timezone.now() - timedelta(minutes=10)

    def in_flight(name: str, minutes_ago: int) -> int:
        req = access_request_submit(
            requester=people.u["maya"], item=item_make(name), reason="on-call", duration_days=30
        )
        access_request_decide(
            actor=people.u["priya"], request_id=req.pk, outcome="APPROVE", comment="ok"
        )
        AccessRequest.objects.filter(pk=req.pk).update(
            decided_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        return req.pk

    lost = approved(people, backend, monkeypatch)
    AccessRequest.objects.filter(pk=lost).update(decided_at=long_ago)
    in_flight("Wiki", 20)

    def reconcile() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            moved = access_requests_reconcile()
        return moved, len(queries)

    moved, few = reconcile()
    assert moved == 0  # the lost one's operation is not final yet
    for n in range(3):
        in_flight(f"Team {n}", 30)  # decided before the lost one: first in line
    _, many = reconcile()
    assert many == few
    Operation.objects.filter(correlation=f"request:{lost}").update(
        status=OperationStatus.SUCCEEDED, okta_status=204, finished_at=long_ago
    )
    assert reconcile()[0] == 1
    assert AccessRequest.objects.get(pk=lost).status == RequestStatus.COMPLETED
    assert AccessRequest.objects.filter(status=RequestStatus.APPROVED).count() == 4
