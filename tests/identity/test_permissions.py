"""Identity asks ``user.has_perm(...)`` for what a person's roles let them do: which requester
kinds of an action's policy they are (helpdesk, admin), and the admin services check the actor
themselves, whatever page they are called from."""

from __future__ import annotations

import pytest

from identity import bulk, services
from identity.guardrails import ActionRefused
from identity.models import Action, ActionPolicy, Requester
from tests.identity.conftest import Acme

KINDS = {Requester.HELPDESK, Requester.ADMIN}


def test_requester_kinds_come_from_the_roles_permissions(acme: Acme) -> None:
    expected = {
        "maya": set(),
        "priya": set(),
        "tessa": set(),
        "jordan": {Requester.HELPDESK},
        "sam": {Requester.ADMIN},
        "dana": {Requester.ADMIN},
    }
    for name, kinds in expected.items():
        assert services.relations(acme.u[name], None) & KINDS == kinds, name


def test_people_search_is_for_directory_viewers_and_managers(acme: Acme) -> None:
    may = {name: services.may_search_people(acme.u[name]) for name in acme.u}
    assert {name for name, yes in may.items() if yes} == {"priya", "omar", "jordan", "sam", "dana"}


@pytest.mark.parametrize("who", ["jordan", "priya", "tessa"])
def test_admin_services_refuse_a_non_admin_caller(acme: Acme, who: str) -> None:
    actor = acme.u[who]
    policy = ActionPolicy.objects.get(action=Action.ACCOUNT_UNLOCK)
    with pytest.raises(ActionRefused, match="Only admins edit action policies"):
        services.action_policy_save(actor=actor, policy=policy, changes={"enabled": False})
    with pytest.raises(ActionRefused, match="Only admins run bulk operations"):
        bulk.bulk_preview(actor=actor, action="suspend", params={}, selection={"status": "ACTIVE"})
    with pytest.raises(ActionRefused, match="Only admins retry bulk runs"):
        bulk.bulk_retry_failures(actor=actor, run_id=1)
    policy.refresh_from_db()
    assert policy.enabled
