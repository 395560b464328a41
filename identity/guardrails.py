"""Guardrails: the rules that refuse an action to protect the person it is done to, and the
values an action may carry.

The privileged-target refusal (``privileged_target_refusal``, and ``privileged_targets_refused``
for a bulk selection) is what stops helpdesk suspending a super admin; the action menu, submit,
the re-check at approval and bulk runs all ask it. The others: what a person may do to their
own account (``self_target_refusal``), the state a person must be in for a variant
(``status_problem``), which groups may be changed (``changeable_group``; Gatehouse's own role
groups are ``portal_role_groups``), and the values a profile may take (``clean_profile``). A
refusal raises ``ActionRefused`` with a sentence for the person who acted; nothing has changed
when it is raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet

from core.errors import ServiceError
from identity.actions import PROFILE_FIELDS
from identity.models import Action, ActionPolicy
from okta.models import AdminRole, GroupType, OktaGroup, OktaUser, UserStatus


class ActionRefused(ServiceError):
    """A refusal with a plain message; ``field`` names the form field it concerns, if any, and
    ``open_pk`` the action already asked for when this one repeats it."""

    def __init__(self, message: str, *, field: str | None = None, open_pk: int | None = None):
        super().__init__(message, field=field)
        self.open_pk = open_pk


# What a person may do to their own account; every other action on oneself is refused.
SELF_SERVICE: dict[str, set[str]] = {
    Action.PASSWORD_RESET: {"email"},
    Action.MFA_RESET: {"reset"},
    Action.SESSIONS_CLEAR: {"clear"},
    Action.USER_UPDATE: {"update"},
}


# The state a person must be in for a variant (Okta would refuse otherwise).
REQUIRED_STATUS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    (Action.USER_SUSPEND, "suspend"): (
        frozenset({UserStatus.ACTIVE}),
        "Only ACTIVE users can be suspended",
    ),
    (Action.USER_SUSPEND, "unsuspend"): (
        frozenset({UserStatus.SUSPENDED}),
        "Only SUSPENDED users can be unsuspended",
    ),
    (Action.ACCOUNT_UNLOCK, "unlock"): (
        frozenset({UserStatus.LOCKED_OUT}),
        "Only LOCKED_OUT users can be unlocked",
    ),
    (Action.USER_LIFECYCLE, "activate"): (
        frozenset({UserStatus.STAGED, UserStatus.PROVISIONED}),
        "Only STAGED or PROVISIONED users can be activated",
    ),
    (Action.USER_LIFECYCLE, "reactivate"): (
        frozenset({UserStatus.PROVISIONED}),
        "Only PROVISIONED users can be reactivated",
    ),
    (Action.USER_LIFECYCLE, "deactivate"): (
        frozenset(set(UserStatus) - {UserStatus.DEPROVISIONED}),
        "The user is already deactivated",
    ),
    (Action.USER_LIFECYCLE, "delete"): (
        frozenset({UserStatus.DEPROVISIONED}),
        "Okta deletes only deactivated users: deactivate first",
    ),
}
_PHONE = re.compile(r"^\+?[0-9 ().-]{3,30}$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def status_problem(action: str, variant: str, target: OktaUser) -> str:
    """Why ``target`` is not in the state the variant needs ("" when they are)."""
    rule = REQUIRED_STATUS.get((action, variant))
    if rule and target.status not in rule[0]:
        return f"{rule[1]}; {target} is {target.status}."
    return ""


def self_target_refusal(action: str, variant: str) -> str | None:
    """Why nobody may run this variant on their own account, or None when self-service allows
    it (``SELF_SERVICE``)."""
    if variant in SELF_SERVICE.get(action, set()):
        return None
    return "Nobody may run this action on their own account: ask a colleague."


# --- the privileged-target refusal --------------------------------------------------------------
#
# What stops helpdesk (or an admin, or a manager) suspending a super admin: nobody acts on a
# person holding a privileged Okta admin role (SUPER_ADMIN or ORG_ADMIN) unless the action's
# policy allows privileged targets, or the person is themselves. The action menu, action_submit,
# the re-check when an approved action is fulfilled and bulk runs all ask the two functions
# below, which share ``_privileged_roles`` (who is privileged) and ``_may_protect`` (when it
# matters).


def _privileged_roles() -> QuerySet[AdminRole]:
    return AdminRole.objects.filter(type__in=AdminRole.PRIVILEGED_TYPES)


def _may_protect(actor_okta_id: str | None, target_id: str, policy: ActionPolicy) -> bool:
    """Whether being privileged would protect ``target_id`` from this actor under ``policy``."""
    is_self = bool(actor_okta_id) and target_id == actor_okta_id
    return not is_self and not policy.allow_privileged_targets


def is_privileged(user_id: str) -> bool:
    """Whether the person holds a privileged Okta admin role (SUPER_ADMIN / ORG_ADMIN)."""
    return _privileged_roles().filter(user_id=user_id).exists()


def privileged_target_refusal(
    actor_okta_id: str | None,
    target: OktaUser,
    policy: ActionPolicy,
    *,
    privileged: bool | None = None,
) -> str | None:
    """Why ``policy`` does not let the actor (their Okta id) act on ``target``, who holds a
    privileged admin role; None when it does. ``privileged`` is whether ``target`` is, when the
    caller has asked already (the menu asks once for all of the person's actions)."""
    if not _may_protect(actor_okta_id, target.pk, policy):
        return None
    if privileged is None:
        privileged = is_privileged(target.pk)
    if not privileged:
        return None
    return (
        f"{target} holds a privileged Okta admin role (SUPER_ADMIN / ORG_ADMIN); this "
        "policy does not allow acting on privileged admins."
    )


def privileged_targets_refused(
    actor_okta_id: str | None, target_ids: Iterable[str] | QuerySet[Any], policy: ActionPolicy
) -> set[str]:
    """The same refusal for many people at once: which of ``target_ids`` (ids, or a query of
    them) ``privileged_target_refusal`` would refuse, in one query."""
    if policy.allow_privileged_targets:
        return set()
    privileged = _privileged_roles().filter(user_id__in=target_ids)
    return {
        user_id
        for user_id in privileged.values_list("user_id", flat=True)
        if _may_protect(actor_okta_id, user_id, policy)
    }


def portal_role_groups() -> list[str]:
    """The Okta groups that grant Gatehouse's own roles."""
    return [
        settings.GATEHOUSE_ADMIN_GROUP,
        settings.GATEHOUSE_HELPDESK_GROUP,
        settings.GATEHOUSE_AUDITOR_GROUP,
    ]


def changeable_group(group_id: str) -> OktaGroup:
    """The group, if it is in the directory and Okta lets its members be changed."""
    group = OktaGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise ActionRefused("That group is not in the directory.", field="group_id")
    if group.type != GroupType.OKTA_GROUP:
        raise ActionRefused(
            f"“{group.name}” is an {group.type} group: Okta lets only OKTA_GROUP groups be "
            "changed (app groups are managed by their app, built-in groups by Okta).",
            field="group_id",
        )
    return group


def clean_profile(
    profile: Mapping[str, Any], *, allowed: Iterable[str], creating: bool = False
) -> dict[str, str]:
    """The profile values stripped and checked; a field not ``allowed`` is refused."""
    allowed = set(allowed)
    clean: dict[str, str] = {}
    for name, raw in profile.items():
        if name not in allowed:
            raise ActionRefused(f"The profile field {name!r} may not be changed here.", field=name)
        value = "" if raw is None else str(raw).strip()
        limit = PROFILE_FIELDS.get(name, 100)
        if name == "login":
            limit = 100
        if len(value) > limit or CONTROL_CHARACTERS.search(value):
            raise ActionRefused(f"{name}: at most {limit} plain characters.", field=name)
        if name in ("email", "login"):
            try:
                validate_email(value)
            except ValidationError:
                raise ActionRefused(
                    f"{name}: {value!r} is not an email address.", field=name
                ) from None
        if name in ("mobilePhone", "primaryPhone") and value and not _PHONE.match(value):
            raise ActionRefused(f"{name}: {value!r} is not a phone number.", field=name)
        if name == "managerId" and value and not OktaUser.objects.filter(pk=value).exists():
            raise ActionRefused("The manager is not in the directory.", field=name)
        if name in ("firstName", "lastName") and not value:
            raise ActionRefused(f"{name} may not be empty.", field=name)
        clean[name] = value
    if not clean and not creating:
        raise ActionRefused("Nothing to change.")
    return clean
