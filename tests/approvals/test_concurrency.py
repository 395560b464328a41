"""Two approvers clicking at once: one decision, one Okta operation, never two.

Meant for PostgreSQL (row locks through ``select_for_update``):
DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_approvals .venv/bin/pytest tests/approvals
On SQLite the IMMEDIATE transactions serialise the two writers the same way.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from approvals import services
from approvals.models import AccessRequest, Decision, Policy, RequestStatus
from okta import operations as okta_operations
from okta.models import Operation
from tests.approvals.conftest import People, item_make

pytestmark = pytest.mark.django_db(transaction=True)


def _refused_cleanly(message: str, expected: str = "no longer pending") -> bool:
    """PostgreSQL waits on the row lock, then the loser sees the new state. SQLite's in-memory
    test database (shared cache) refuses the second writer at once with a table lock instead;
    either way the loser changed nothing, which the caller checks."""
    if connection.vendor == "sqlite" and "database table is locked" in message:
        return True
    return expected in message


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Operation ids okta would hand to its worker after commit (kept off the real broker)."""
    sent: list[int] = []
    monkeypatch.setattr(okta_operations, "_queue", lambda pk, countdown=None: sent.append(pk))
    return sent


def test_two_approvers_at_once_give_one_decision_and_one_operation(queued: list[int]) -> None:
    people = People()
    item = item_make(approver_group=people.approvers, policy="Approver group")
    assert Policy.objects.get(name="Approver group").stages.get().rule == "ANY"
    req = services.access_request_submit(
        requester=people.u["maya"], item=item, reason="on-call", duration_days=30
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def approve(who: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.access_request_decide(
                actor=people.u[who], request_id=req.pk, outcome="APPROVE"
            )
            outcomes[who] = "approved"
        except services.ApprovalError as exc:
            outcomes[who] = exc.message
        except Exception as exc:  # surfaced in the assertion below
            outcomes[who] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("omar", "olive")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert list(outcomes.values()).count("approved") == 1, outcomes
    loser = next(v for v in outcomes.values() if v != "approved")
    assert _refused_cleanly(loser), outcomes
    req.refresh_from_db()
    assert req.status == RequestStatus.FULFILLING  # approved, then handed to the worker
    assert Decision.objects.filter(request=req).count() == 1
    op = Operation.objects.get(correlation=req.correlation)
    assert queued == [op.pk]
    assert AccessRequest.objects.count() == 1


def test_two_submissions_at_once_give_one_request(queued: list[int]) -> None:
    people = People()
    item = item_make()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            barrier.wait(timeout=10)
            services.access_request_submit(
                requester=people.u["maya"], item=item, reason="x", duration_days=30
            )
            outcomes.append("submitted")
        except services.ApprovalError as exc:
            outcomes.append(exc.message)
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("submitted") == 1, outcomes
    loser = next(v for v in outcomes if v != "submitted")
    assert _refused_cleanly(loser, "already an open request"), outcomes
    assert AccessRequest.objects.count() == 1
