"""Who may decide a request at its current stage: ``AccessRequest.can_be_decided_by`` is the one
rule, and the inbox, the waiting count, the request's page and the decide service agree with it
for every kind of person."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.http import Http404
from django.test import Client
from django.urls import reverse

from accounts.models import User
from approvals.models import AccessRequest, Policy, PolicyStage, RequestStatus
from approvals.queries import waiting_count
from approvals.services.common import ApprovalError
from approvals.services.decisions import access_request_decide
from tests.approvals.conftest import People, client_for, item_make, person_make, submit


class _Undo(Exception):
    """Raised to take back a decision the test only tried."""


def _service_lets_decide(user: User, req: AccessRequest) -> bool:
    try:
        with transaction.atomic():
            access_request_decide(actor=user, request_id=req.pk, outcome="APPROVE")
            raise _Undo
    except _Undo:
        return True
    except (ApprovalError, Http404):
        return False


@pytest.mark.django_db
def test_can_be_decided_by_agrees_with_the_inbox_the_count_the_page_and_the_service(
    people: People,
) -> None:
    all_of_group = Policy.objects.create(name="Whole approver group")
    PolicyStage.objects.create(
        policy=all_of_group, position=1, approvers="APPROVER_GROUP", rule="ALL"
    )
    two_stage: dict[str, Any] = {"policy": "Manager then owners", "owners": [people.otto.id]}
    group: dict[str, Any] = {"approver_group": people.approvers}
    stage_1 = submit(people, item_make("Stage one", **two_stage))
    stage_2 = submit(people, item_make("Stage two", **two_stage))
    access_request_decide(actor=people.u["priya"], request_id=stage_2.pk, outcome="APPROVE")
    by_group = submit(people, item_make("By the group", policy="Approver group", **group))
    # omar asks for himself: his own group routes it to olive alone.
    own = submit(people, item_make("Omar's own", policy="Approver group", **group), who="omar")
    everyone = submit(people, item_make("All of them", policy=all_of_group.name, **group))
    access_request_decide(actor=people.u["omar"], request_id=everyone.pk, outcome="APPROVE")
    decided = submit(people, item_make("Decided"))
    access_request_decide(actor=people.u["priya"], request_id=decided.pk, outcome="APPROVE")
    root = User.objects.create(
        username="root@acme.com",
        okta_id=person_make("root.admin@acme.com", department="IT").id,
        is_superuser=True,
    )
    unlinked = User.objects.create(username="unlinked@acme.com", is_superuser=True)
    requests = {
        "stage_1": stage_1,
        "stage_2": stage_2,
        "by_group": by_group,
        "own": own,
        "everyone": everyone,
        "decided": decided,
    }
    for req in requests.values():
        req.refresh_from_db()
    assert (stage_1.current_stage, stage_2.current_stage) == (1, 2)
    assert decided.status != RequestStatus.PENDING

    # The specification: who may decide which request now.
    expected = {
        "priya": {"stage_1"},  # maya's manager: stage 1 only, not the stage 2 she passed on
        "otto": {"stage_2"},  # the owner: stage 2 once the manager approved
        "omar": {"by_group"},  # a group member: not his own request, not one he approved
        "olive": {"by_group", "own", "everyone"},  # the other group member
        "maya": set(),  # the requester
        "ada": set(),  # a Gatehouse admin: no slot, no decision
        "stan": set(),  # a stranger
        "root": set(),  # a superuser
        "unlinked": set(),  # a superuser without an Okta id
    }
    users = {**people.u, "root": root, "unlinked": unlinked}
    for who, may in expected.items():
        user = users[who]
        by_rule = {name for name, req in requests.items() if req.can_be_decided_by(user)}
        assert by_rule == may, who
        inbox = set(AccessRequest.objects.decidable_by(user).values_list("pk", flat=True))
        assert inbox == {requests[name].pk for name in may}, who
        assert waiting_count(user) == len(may), who
        client = client_for(people, who) if who in people.u else Client()
        if who not in people.u:
            client.force_login(user)
        page = client.get(reverse("approvals:inbox"))
        shown = {
            name
            for name, req in requests.items()
            if f'id="inbox-row-{req.pk}"' in str(page.content)
        }
        assert shown == may, who
        for name, req in requests.items():
            detail = client.get(reverse("approvals:request_detail", args=[req.pk]))
            if detail.status_code == 200:
                assert detail.context["can_decide"] == (name in may), (who, name)
            else:
                assert detail.status_code == 404 and name not in may, (who, name)
            assert _service_lets_decide(user, req) == (name in may), (who, name)
