"""Two admins confirming at once give one decision and one set of Okta operations.

Meant for PostgreSQL (row locks through ``select_for_update``):
DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_identity .venv/bin/pytest tests/identity
On SQLite the IMMEDIATE transactions serialise the two writers the same way.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from approvals.models import AccessRequest, Decision, RequestStatus
from identity import bulk, services
from identity.models import Action, ActionPolicy, ActionRequest, BulkStatus
from okta import operations as okta_operations
from okta.client import OktaClient
from okta.models import GroupMembership, Operation
from okta.sandbox.seed import acme_group_id
from tests.fixtures.concurrency import at_once, losers, refused_cleanly
from tests.fixtures.dispatch import TasksSent
from tests.identity.conftest import FINANCE_STALE, Acme, account, approval_of, bulk_start, decide

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def three_admins(okta_sandbox: Any) -> Acme:
    acme = Acme(okta_sandbox)
    GroupMembership.objects.create(
        group_id=acme_group_id("Gatehouse Admins"), user_id=acme.id["tessa"]
    )
    acme.u["tessa"] = account("tessa.nguyen@acme.com")
    return acme


def test_two_second_admins_at_once_give_one_decision(
    three_admins: Acme, queued: list[int], okta: OktaClient, tasks_sent: TasksSent
) -> None:
    """Both are approvers of the action's approval request; approvals' decide locks it, and
    the one operation it writes makes one change in Okta. (The operation's callback to
    approvals is recorded by ``tasks_sent``, not published.)"""
    acme = three_admins
    writes = acme.sandbox.counters()["writes"]
    req = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_SUSPEND,
        variant="suspend",
        target_user_id=acme.id["john"],
    )
    outcomes = at_once([partial(decide, acme.u[name], req) for name in ("dana", "tessa")])
    (loser,) = losers(outcomes)
    assert refused_cleanly(loser, "no longer pending"), outcomes
    approval = approval_of(req)
    assert approval.status in (RequestStatus.APPROVED, RequestStatus.FULFILLING)
    assert Decision.objects.filter(request=approval).count() == 1
    op = Operation.objects.get(correlation=req.correlation)
    assert queued == [op.pk]
    okta_operations.operation_execute(op.pk, client=okta)
    assert acme.sandbox.counters()["writes"] == writes + 1
    assert acme.state("john")["status"] == "SUSPENDED"


def test_two_bulk_confirmations_at_once_start_one_run(
    three_admins: Acme, queued: list[int]
) -> None:
    acme = three_admins
    ActionPolicy.objects.filter(action=Action.USER_SUSPEND).update(bulk_confirm_threshold=1)
    _, run = bulk_start(acme.u["sam"], "suspend", FINANCE_STALE)
    assert run.status == BulkStatus.AWAITING_CONFIRMATION
    confirm = partial(bulk.bulk_second_confirm, run_id=run.pk)
    outcomes = at_once([partial(confirm, actor=acme.u[name]) for name in ("dana", "tessa")])
    (loser,) = losers(outcomes)
    assert refused_cleanly(loser, "not waiting"), outcomes
    assert Operation.objects.filter(correlation=run.correlation).count() == 8
    assert len(queued) == 8


def test_two_admins_asking_the_same_suspend_at_once_give_one_request(
    three_admins: Acme,
) -> None:
    acme = three_admins
    john = acme.id["john"]
    ask = partial(
        services.action_submit, action=Action.USER_SUSPEND, variant="suspend", target_user_id=john
    )
    outcomes = at_once([partial(ask, actor=acme.u[name]) for name in ("sam", "tessa")])
    (loser,) = losers(outcomes)
    assert refused_cleanly(loser, "already asked for"), outcomes
    assert ActionRequest.objects.filter(target_user_id=john).count() == 1
    assert AccessRequest.objects.filter(subject_id=john).count() == 1
