"""The privileged-target refusal is one rule (identity/guardrails.py): the action menu,
``action_submit``, the re-check when an approved action is fulfilled and bulk previews refuse
exactly the same actor and person pairs.

sam holds SUPER_ADMIN in the acme seed; john is given ORG_ADMIN here; jordan's HELP_DESK_ADMIN
is not privileged. The actors: jordan (helpdesk), dana (admin) and sam (admin, and himself a
super admin)."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.models import User
from identity import bulk, services
from identity.guardrails import (
    ActionRefused,
    privileged_target_refusal,
    privileged_targets_refused,
)
from identity.models import Action, ActionPolicy, ActionRequest
from okta.models import AdminRole, OktaUser
from tests.identity.conftest import Acme

ACTORS = ("jordan", "dana", "sam")
TARGETS = ("maya", "john", "jordan", "dana", "sam")
PRIVILEGED = {"sam", "john"}
ACTION, VARIANT, BULK_ACTION = Action.SESSIONS_CLEAR, "clear", "sessions_clear"


class _Undone(Exception):
    """Raised to roll an accepted ask back, so the next pair asks from the same state."""


def _menu_offers(actor: User, target: OktaUser) -> bool:
    return (ACTION, VARIANT) in {(a, v) for a, v, _ in services.allowed_variants(actor, target)}


def _submit_refusal(actor: User, target: OktaUser) -> str:
    try:
        with transaction.atomic():
            services.action_submit(
                actor=actor, action=ACTION, variant=VARIANT, target_user_id=target.pk
            )
            raise _Undone
    except _Undone:
        return ""
    except ActionRefused as exc:
        return exc.message


def _bulk_skips(actor: User, logins: list[str]) -> dict[str, str] | None:
    """Why the bulk preview leaves each person out ("" = they change); None for an actor who
    may not run bulk operations at all (helpdesk)."""
    try:
        previewed = bulk.bulk_preview(
            actor=actor, action=BULK_ACTION, params={}, selection={"logins": logins}
        )
    except ActionRefused as exc:
        assert exc.message == "Only admins run bulk operations."
        return None
    return {row.user_id: row.skip for row in previewed.rows}


def _recheck_refusal(actor: User, target: OktaUser) -> str:
    """The re-check of the same ask, as when its approval is decided."""
    waiting = ActionRequest(
        action=ACTION,
        variant=VARIANT,
        requested_by=actor.username,
        requested_by_okta_id=actor.okta_id or "",
        target_user_id=target.pk,
    )
    try:
        services.action_recheck(waiting)
    except ActionRefused as exc:
        return exc.message
    return ""


@pytest.mark.parametrize("allowed", [False, True], ids=["protected", "policy-allows"])
def test_menu_submit_recheck_and_bulk_refuse_the_same_pairs(acme: Acme, allowed: bool) -> None:
    AdminRole.objects.create(user_id=acme.id["john"], type="ORG_ADMIN")
    ActionPolicy.objects.filter(action=ACTION).update(allow_privileged_targets=allowed)
    policy = ActionPolicy.objects.get(action=ACTION)
    people = {name: OktaUser.objects.get(pk=acme.id[name]) for name in TARGETS}
    seen: dict[tuple[str, str], tuple[bool, ...]] = {}
    for actor_name in ACTORS:
        actor = acme.u[actor_name]
        bulk_skips = _bulk_skips(actor, [people[name].login for name in TARGETS])
        set_refused = privileged_targets_refused(
            actor.okta_id, [p.pk for p in people.values()], policy
        )
        for target_name, target in people.items():
            expected = not allowed and target_name in PRIVILEGED and target_name != actor_name
            refusal = privileged_target_refusal(actor.okta_id, target, policy)
            submitted = _submit_refusal(actor, target)
            rechecked = _recheck_refusal(actor, target)
            answers: tuple[bool, ...] = (
                refusal is not None,
                target.pk in set_refused,
                not _menu_offers(actor, target),
                "privileged" in submitted,
                "privileged" in rechecked,
            )
            if bulk_skips is not None:
                answers += ("privileged" in bulk_skips[target.pk],)
            assert answers == (expected,) * len(answers), (actor_name, target_name)
            seen[(actor_name, target_name)] = answers
            if expected:
                assert refusal is not None and refusal in submitted and refusal in rechecked
            else:
                # Nothing else stands in the way of these pairs: the ask was accepted.
                assert submitted == "" and rechecked == ""
    # Both outcomes were exercised (when the policy protects privileged admins), and bulk was
    # compared for the admins.
    assert {v[0] for v in seen.values()} == ({False} if allowed else {False, True})
    assert {len(v) for v in seen.values()} == {5, 6}
    assert not ActionRequest.objects.exists()


def test_the_refusal_never_protects_a_person_from_themselves(acme: Acme) -> None:
    sam = OktaUser.objects.get(pk=acme.id["sam"])
    policy = ActionPolicy.objects.get(action=ACTION)
    assert privileged_target_refusal(acme.id["sam"], sam, policy) is None
    assert privileged_target_refusal(acme.id["dana"], sam, policy) is not None
    # A person without an Okta id is nobody's self.
    assert privileged_target_refusal(None, sam, policy) is not None
    assert privileged_targets_refused(acme.id["sam"], [sam.pk], policy) == set()
    assert privileged_targets_refused("", [sam.pk], policy) == {sam.pk}
