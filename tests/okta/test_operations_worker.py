"""A real Celery worker process executes an enqueued operation and records Okta's answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from audit.models import AuditEvent
from okta.client import OktaClient
from okta.models import Operation, OperationKind, OperationStatus
from okta.operations import operation_enqueue
from okta.sandbox.seed import acme_group_id, acme_user_id


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_executes_enqueued_operation(celery_worker: Any, okta_sandbox: Any) -> None:
    maya, finance = acme_user_id("maya.chen@acme.com"), acme_group_id("Finance")
    with transaction.atomic():
        op = operation_enqueue(
            kind=OperationKind.GROUP_MEMBER_ADD,
            params={"group_id": finance, "user_id": maya},
            actor="admin@acme.com",
            correlation="request:7",
        )
    # The commit queued okta.operation_run; the worker (a separate process) claims and runs it.
    celery_worker.wait_for(
        lambda: Operation.objects.get(pk=op.pk).status == OperationStatus.SUCCEEDED,
        timeout=60,
        what=f"operation {op.pk} to succeed",
    )
    op.refresh_from_db()
    assert op.okta_status == 204 and op.okta_request_id and op.attempts == 1
    with OktaClient(okta_sandbox.url, token=okta_sandbox.token) as okta:
        assert "Finance" in {g.name for g in okta.list_user_groups(maya)}
    assert AuditEvent.objects.filter(
        action="okta.operation.succeeded", target_id=finance, actor="okta"
    ).exists()
