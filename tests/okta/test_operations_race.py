"""Two workers race for one operation: exactly one claims it and Okta changes once."""

from __future__ import annotations

from typing import Any

import pytest

from okta import operations
from okta.client import OktaClient
from okta.models import Operation, OperationKind, OperationStatus
from okta.sandbox.seed import acme_group_id, acme_user_id
from tests.fixtures.concurrency import at_once
from tests.fixtures.dispatch import tasks_hold


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_operation(
    okta_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks_hold(monkeypatch, operations.OPERATION_RUN_TASK)
    maya, finance = acme_user_id("maya.chen@acme.com"), acme_group_id("Finance")
    op = Operation.objects.create(
        kind=OperationKind.GROUP_MEMBER_ADD, params={"group_id": finance, "user_id": maya}
    )

    def worker() -> Any:
        with OktaClient(okta_sandbox.url, token=okta_sandbox.token, max_retries=0) as client:
            return operations.operation_execute(op.pk, client=client)

    results = at_once([worker, worker])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r is not None for r in results) == 1
    op.refresh_from_db()
    assert op.status == OperationStatus.SUCCEEDED and op.attempts == 1
    assert okta_sandbox.counters()["writes"] == 1
