"""Two workers race for one operation: exactly one claims it and Okta changes once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from okta import operations
from okta.client import OktaClient
from okta.models import Operation, OperationKind, OperationStatus
from okta.sandbox.seed import acme_group_id, acme_user_id


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_operation(
    okta_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations, "_queue", lambda pk, countdown=None: None)
    maya, finance = acme_user_id("maya.chen@acme.com"), acme_group_id("Finance")
    op = Operation.objects.create(
        kind=OperationKind.GROUP_MEMBER_ADD, params={"group_id": finance, "user_id": maya}
    )
    start = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with OktaClient(okta_sandbox.url, token=okta_sandbox.token, max_retries=0) as client:
                start.wait()
                results.append(operations.operation_execute(op.pk, client=client))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r is not None for r in results) == 1
    op.refresh_from_db()
    assert op.status == OperationStatus.SUCCEEDED and op.attempts == 1
    assert okta_sandbox.counters()["writes"] == 1
