"""The action registry: what each identity action is, the Okta operation each of its variants
makes, and how it is named for people (labels, the approval's title).

Nothing here decides whether an action is allowed: that is ``identity.guardrails`` (refusals
that protect the person acted on) and the action's ``ActionPolicy`` (who may ask, and with which
approval); ``identity.services`` puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from identity.models import Action
from okta.models import OktaApp, OktaGroup, OktaUser, OperationKind

K = OperationKind
# action -> variant -> (operation kind, fixed params, label)
VARIANTS: dict[str, dict[str, tuple[str, dict[str, Any], str]]] = {
    Action.PASSWORD_RESET: {
        "email": (K.USER_RESET_PASSWORD, {"send_email": True}, "Email a password reset link"),
        "url": (K.USER_RESET_PASSWORD, {"send_email": False}, "Show a one-time reset link"),
        "temp": (
            K.USER_EXPIRE_PASSWORD,
            {"temp_password": True},
            "Set a temporary password",
        ),
    },
    Action.ACCOUNT_UNLOCK: {"unlock": (K.USER_UNLOCK, {}, "Unlock")},
    Action.MFA_RESET: {"reset": (K.USER_RESET_FACTORS, {}, "Reset MFA factors")},
    Action.SESSIONS_CLEAR: {
        "clear": (K.USER_CLEAR_SESSIONS, {"oauth_tokens": True}, "Sign out everywhere")
    },
    Action.USER_SUSPEND: {
        "suspend": (K.USER_SUSPEND, {}, "Suspend"),
        "unsuspend": (K.USER_UNSUSPEND, {}, "Unsuspend"),
    },
    Action.USER_LIFECYCLE: {
        "activate": (K.USER_ACTIVATE, {"send_email": True}, "Activate"),
        "reactivate": (K.USER_REACTIVATE, {"send_email": True}, "Reactivate"),
        "deactivate": (K.USER_DEACTIVATE, {}, "Deactivate"),
        "delete": (K.USER_DELETE, {}, "Delete"),
    },
    Action.USER_UPDATE: {"update": (K.USER_UPDATE, {}, "Update profile")},
    Action.GROUP_MEMBERSHIP: {
        "add": (K.GROUP_MEMBER_ADD, {}, "Add to group"),
        "remove": (K.GROUP_MEMBER_REMOVE, {}, "Remove from group"),
    },
    Action.APP_ASSIGNMENT: {
        "assign": (K.APP_USER_ASSIGN, {}, "Assign app"),
        "unassign": (K.APP_USER_UNASSIGN, {}, "Unassign app"),
    },
    Action.USER_CREATE: {"create": (K.USER_CREATE, {}, "Create user")},
    Action.GROUP_MANAGE: {
        "create": (K.GROUP_CREATE, {}, "Create group"),
        "update": (K.GROUP_UPDATE, {}, "Rename group"),
        "delete": (K.GROUP_DELETE, {}, "Delete group"),
    },
}
# Actions about one existing person (the target); the rest create or manage other things.
USER_ACTIONS = frozenset(
    {
        Action.PASSWORD_RESET,
        Action.ACCOUNT_UNLOCK,
        Action.MFA_RESET,
        Action.SESSIONS_CLEAR,
        Action.USER_SUSPEND,
        Action.USER_LIFECYCLE,
        Action.USER_UPDATE,
        Action.GROUP_MEMBERSHIP,
        Action.APP_ASSIGNMENT,
    }
)
# What takes effect in Okta at one click (no approval by default) and cannot be taken back by the
# person it is done to: asked for someone else, the page asks to confirm first, naming the person
# and the effect. Suspending, deactivating and deleting wait for a second admin instead.
CONFIRM_FIRST = frozenset(
    {
        (Action.PASSWORD_RESET, "email"),
        (Action.PASSWORD_RESET, "url"),
        (Action.PASSWORD_RESET, "temp"),
        (Action.MFA_RESET, "reset"),
        (Action.SESSIONS_CLEAR, "clear"),
    }
)
REASON_MAX = 200

# bulk action -> (policy action, variant, label): what the bulk page offers
BULK_ACTIONS: dict[str, tuple[str, str, str]] = {
    "suspend": (Action.USER_SUSPEND, "suspend", "Suspend"),
    "unsuspend": (Action.USER_SUSPEND, "unsuspend", "Unsuspend"),
    "deactivate": (Action.USER_LIFECYCLE, "deactivate", "Deactivate"),
    "sessions_clear": (Action.SESSIONS_CLEAR, "clear", "Sign out everywhere"),
    "group_add": (Action.GROUP_MEMBERSHIP, "add", "Add to group"),
    "group_remove": (Action.GROUP_MEMBERSHIP, "remove", "Remove from group"),
    "app_assign": (Action.APP_ASSIGNMENT, "assign", "Assign apps"),
    "app_unassign": (Action.APP_ASSIGNMENT, "unassign", "Unassign apps"),
}


def needs_confirmation(actor: User, action: str, variant: str, target: OktaUser | None) -> bool:
    """Whether the page must ask ``actor`` to confirm before asking for this."""
    if (action, variant) not in CONFIRM_FIRST or target is None:
        return False
    return not (actor.okta_id and target.pk == actor.okta_id)


# Okta profile attributes Gatehouse edits, with their maximum length.
PROFILE_FIELDS: dict[str, int] = {
    "firstName": 50,
    "lastName": 50,
    "displayName": 100,
    "nickName": 50,
    "title": 100,
    "department": 100,
    "mobilePhone": 30,
    "primaryPhone": 30,
    "city": 100,
    "email": 100,
    "managerId": 32,
}


def variant_label(action: str, variant: str) -> str:
    return VARIANTS.get(action, {}).get(variant, ("", {}, variant))[2]


@dataclass
class Plan:
    """What an action will do: the operations (kind, params) and a summary for people."""

    operations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    summary: str = ""
    later: dict[str, Any] = field(default_factory=dict)  # for user_create's follow-ups


# How an action that waits for approval is named in the inbox and on home: what happens and
# to whom, once ("Suspend John Doe", not "Suspend for John Doe").
_APPROVAL_TITLES: dict[tuple[str, str], str] = {
    (Action.PASSWORD_RESET, "email"): "Email {person} a password reset link",
    (Action.PASSWORD_RESET, "url"): "Make a one-time password reset link for {person}",
    (Action.PASSWORD_RESET, "temp"): "Set a temporary password for {person}",
    (Action.ACCOUNT_UNLOCK, "unlock"): "Unlock {person}",
    (Action.MFA_RESET, "reset"): "Reset the MFA factors of {person}",
    (Action.SESSIONS_CLEAR, "clear"): "Sign {person} out everywhere",
    (Action.USER_SUSPEND, "suspend"): "Suspend {person}",
    (Action.USER_SUSPEND, "unsuspend"): "Unsuspend {person}",
    (Action.USER_LIFECYCLE, "activate"): "Activate {person}",
    (Action.USER_LIFECYCLE, "reactivate"): "Reactivate {person}",
    (Action.USER_LIFECYCLE, "deactivate"): "Deactivate {person}",
    (Action.USER_LIFECYCLE, "delete"): "Delete {person}",
    (Action.USER_UPDATE, "update"): "Update the profile of {person} ({fields})",
    (Action.GROUP_MEMBERSHIP, "add"): "Add {person} to {group}",
    (Action.GROUP_MEMBERSHIP, "remove"): "Remove {person} from {group}",
    (Action.APP_ASSIGNMENT, "assign"): "Assign {app} to {person}",
    (Action.APP_ASSIGNMENT, "unassign"): "Unassign {app} from {person}",
    (Action.USER_CREATE, "create"): "Create user {new_person}",
    (Action.GROUP_MANAGE, "create"): "Create group {name}",
    (Action.GROUP_MANAGE, "update"): "Rename group {group} to {name}",
    (Action.GROUP_MANAGE, "delete"): "Delete group {group}",
}


def approval_title(action: str, variant: str, plan: Plan, target: OktaUser | None) -> str:
    params: dict[str, Any] = plan.operations[0][1] if plan.operations else {}
    profile = params.get("profile", {})
    group_id, app_id = params.get("group_id"), params.get("app_id")
    group = OktaGroup.objects.filter(pk=group_id).first() if group_id else None
    app = OktaApp.objects.filter(pk=app_id).first() if app_id else None
    full_name = f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip()
    login = profile.get("login", "")
    names = {
        "person": str(target) if target else "",
        "fields": ", ".join(profile),
        "group": group.name if group else group_id or "",
        "app": app.label if app else app_id or "",
        "new_person": f"{full_name} ({login})" if full_name and login else full_name or login,
        "name": params.get("name", ""),
    }
    pattern = _APPROVAL_TITLES.get((action, variant))
    if pattern is None:
        return f"{plan.summary} for {target}" if target else plan.summary
    return pattern.format(**names)
