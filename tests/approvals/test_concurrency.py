"""Two approvers clicking at once: one decision, one Okta operation, never two.

Meant for PostgreSQL (row locks through ``select_for_update``):
DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_approvals .venv/bin/pytest tests/approvals
On SQLite the IMMEDIATE transactions serialise the two writers the same way.
"""

from __future__ import annotations

from functools import partial

import pytest

from approvals.models import AccessRequest, Decision, Policy, RequestStatus
from approvals.services.decisions import access_request_decide, access_requests_decide_bulk
from approvals.services.requests import access_request_submit
from okta.models import Operation
from tests.approvals.conftest import People, item_make
from tests.fixtures.concurrency import at_once, losers, refused_cleanly

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_approvers_at_once_give_one_decision_and_one_operation(queued: list[int]) -> None:
    people = People()
    item = item_make(approver_group=people.approvers, policy="Approver group")
    assert Policy.objects.get(name="Approver group").stages.get().rule == "ANY"
    req = access_request_submit(
        requester=people.u["maya"], item=item, reason="on-call", duration_days=30
    )
    approve = partial(access_request_decide, request_id=req.pk, outcome="APPROVE")
    outcomes = at_once([partial(approve, actor=people.u[who]) for who in ("omar", "olive")])

    (loser,) = losers(outcomes)
    assert refused_cleanly(loser, "no longer pending"), outcomes
    req.refresh_from_db()
    assert req.status == RequestStatus.FULFILLING  # approved, then handed to the worker
    assert Decision.objects.filter(request=req).count() == 1
    op = Operation.objects.get(correlation=req.correlation)
    assert queued == [op.pk]
    assert AccessRequest.objects.count() == 1


def test_bulk_and_single_decision_on_the_same_request_give_one_decision(
    queued: list[int],
) -> None:
    people = People()
    ids = [
        access_request_submit(
            requester=people.u["maya"],
            item=item_make(f"Team {i}", approver_group=people.approvers, policy="Approver group"),
            reason="on-call",
            duration_days=30,
        ).pk
        for i in range(3)
    ]
    contested = ids[1]
    bulk, single = at_once(
        [
            partial(
                access_requests_decide_bulk,
                actor=people.u["omar"],
                request_ids=ids,
                outcome="APPROVE",
            ),
            partial(
                access_request_decide,
                actor=people.u["olive"],
                request_id=contested,
                outcome="APPROVE",
            ),
        ]
    )

    if isinstance(bulk, Exception):  # SQLite refused the whole bulk's transaction at once
        assert refused_cleanly(bulk, "no longer pending") and isinstance(single, AccessRequest)
    elif contested in bulk.decided:
        assert refused_cleanly(single, "no longer pending"), (bulk, single)
        assert bulk.decided == ids
    else:
        assert isinstance(single, AccessRequest), (bulk, single)
        assert refused_cleanly(bulk.refused[contested], "no longer pending"), bulk
        assert bulk.decided == [ids[0], ids[2]]
    assert Decision.objects.filter(request=contested).count() == 1
    assert Operation.objects.filter(correlation=f"request:{contested}").count() == 1
    assert AccessRequest.objects.get(pk=contested).status == RequestStatus.FULFILLING
    assert sorted(queued) == sorted(Operation.objects.values_list("pk", flat=True))
    assert len(queued) == len(set(queued)) == Decision.objects.count()


def test_two_submissions_at_once_give_one_request(queued: list[int]) -> None:
    people = People()
    item = item_make()
    ask = partial(
        access_request_submit,
        requester=people.u["maya"],
        item=item,
        reason="x",
        duration_days=30,
    )
    outcomes = at_once([ask, ask])
    (loser,) = losers(outcomes)
    assert refused_cleanly(loser, "already an open request"), outcomes
    assert AccessRequest.objects.count() == 1
