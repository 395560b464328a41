"""Identity actions under policy: keyword-only services, acting user explicit, one transaction
each with its audit event; Okta is reached only through the okta outbox.

``action_submit`` checks the action's policy and guardrails, then either queues the Okta
operations at once or leaves an ``ActionRequest`` PENDING for its approver (``action_decide``).
Bulk runs are previewed (``bulk_preview``), confirmed against the preview's hash
(``bulk_confirm``), above a size confirmed by a second admin (``bulk_second_confirm``), and
followed through their operations. Refusals raise ``ActionRefused`` with a sentence for the
person who acted; nothing has changed when it is raised.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role, has_role
from approvals.fulfilment import OperationSpec
from approvals.models import OPEN_STATUSES, AccessRequest, Policy, RequestStatus
from approvals.services import ApprovalError, approval_request_open
from audit.services import audit_record
from identity.models import (
    Action,
    ActionPolicy,
    ActionRequest,
    BulkItem,
    BulkRun,
    BulkStatus,
    Requester,
)
from okta.models import (
    AdminRole,
    AppAssignment,
    GroupMembership,
    GroupType,
    OktaApp,
    OktaGroup,
    OktaUser,
    Operation,
    OperationKind,
    OperationStatus,
    UserStatus,
)
from okta.operations import operation_enqueue, operation_retry, operations_enqueue

CALLBACK_TASK = "identity.operation_finished"
# Approval states in which the action's outcome is the approval's, not Okta's.
CLOSED_OR_WAITING = (
    RequestStatus.PENDING,
    RequestStatus.DENIED,
    RequestStatus.CANCELLED,
    RequestStatus.EXPIRED,
)


class ActionRefused(Exception):
    """A refusal with a plain message; ``field`` names the form field it concerns, if any, and
    ``open_pk`` the action already asked for when this one repeats it."""

    def __init__(self, message: str, *, field: str | None = None, open_pk: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.open_pk = open_pk


# --- the registry ------------------------------------------------------------------------------

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
# What a person may do to their own account; every other action on oneself is refused.
SELF_SERVICE: dict[str, set[str]] = {
    Action.PASSWORD_RESET: {"email"},
    Action.MFA_RESET: {"reset"},
    Action.SESSIONS_CLEAR: {"clear"},
    Action.USER_UPDATE: {"update"},
}
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


def needs_confirmation(actor: User, action: str, variant: str, target: OktaUser | None) -> bool:
    """Whether the page must ask ``actor`` to confirm before asking for this."""
    if (action, variant) not in CONFIRM_FIRST or target is None:
        return False
    return not (actor.okta_id and target.pk == actor.okta_id)


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
_PHONE = re.compile(r"^\+?[0-9 ().-]{3,30}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def variant_label(action: str, variant: str) -> str:
    return VARIANTS.get(action, {}).get(variant, ("", {}, variant))[2]


# --- who may do what ---------------------------------------------------------------------------


def is_admin(user: User) -> bool:
    return bool(user.is_superuser or has_role(user, Role.ADMIN))


def policy_for(action: str) -> ActionPolicy:
    policy = ActionPolicy.objects.filter(action=action).first()
    if policy is None:
        raise ActionRefused(f"There is no policy for {action}: an admin must set one.")
    return policy


def _portal_role_groups() -> list[str]:
    return [
        settings.GATEHOUSE_ADMIN_GROUP,
        settings.GATEHOUSE_HELPDESK_GROUP,
        settings.GATEHOUSE_AUDITOR_GROUP,
    ]


def _owns(actor: User, *, group_id: str = "", app_id: str = "") -> bool:
    from approvals.models import CatalogItem

    if not actor.okta_id or not (group_id or app_id):
        return False
    item = CatalogItem.objects.filter(
        Q(group_id=group_id) if group_id else Q(app_id=app_id)
    ).first()
    return bool(item and actor.okta_id in (item.owners or []))


def relations(
    actor: User, target: OktaUser | None, *, group_id: str = "", app_id: str = ""
) -> set[str]:
    """The ways ``actor`` relates to the action's target: self, manager, helpdesk, owners,
    admin (the policy's ``requesters`` name which of them may ask)."""
    found: set[str] = set()
    if target is not None and actor.okta_id and target.pk == actor.okta_id:
        found.add(Requester.SELF)
    if target is not None and actor.okta_id and target.manager_id == actor.okta_id:
        found.add(Requester.MANAGER)
    if has_role(actor, Role.HELPDESK):
        found.add(Requester.HELPDESK)
    if is_admin(actor):
        found.add(Requester.ADMIN)
    if _owns(actor, group_id=group_id, app_id=app_id):
        found.add(Requester.OWNERS)
    return found


def may_act_on(actor: User, target: OktaUser) -> bool:
    """Whether any enabled user action's policy lets ``actor`` act on ``target``: the person
    pages show nothing (404) to anyone else."""
    mine = relations(actor, target) - {Requester.SELF}
    if not mine:
        return False
    return any(set(p.requesters) & mine for p in _enabled_policies())


def _enabled_policies() -> list[ActionPolicy]:
    return list(ActionPolicy.objects.filter(enabled=True))


def allowed_variants(actor: User, target: OktaUser) -> list[tuple[str, str, str]]:
    """(action, variant, label) the actor may ask for on this person, as policy allows."""
    mine = relations(actor, target)
    is_self = Requester.SELF in mine
    privileged = not is_self and is_privileged(target.pk)
    out = []
    for policy in _enabled_policies():
        if policy.action not in USER_ACTIONS or not set(policy.requesters) & mine:
            continue
        if privileged and not policy.allow_privileged_targets:
            continue
        if is_self:
            variants = SELF_SERVICE.get(policy.action, set())
        else:
            variants = set(VARIANTS[policy.action])
        for variant, (_, _, label) in VARIANTS[policy.action].items():
            if variant in variants and not _status_problem(policy.action, variant, target):
                out.append((policy.action, variant, label))
    return out


def actions_offered(actor: User, target: OktaUser) -> list[tuple[str, str, str, bool]]:
    """(action, variant, label, confirm first) for each action the person pages offer."""
    return [
        (action, variant, label, needs_confirmation(actor, action, variant, target))
        for action, variant, label in allowed_variants(actor, target)
    ]


def _status_problem(action: str, variant: str, target: OktaUser) -> str:
    rule = REQUIRED_STATUS.get((action, variant))
    if rule and target.status not in rule[0]:
        return f"{rule[1]}; {target} is {target.status}."
    return ""


def is_privileged(user_id: str) -> bool:
    return AdminRole.objects.filter(user_id=user_id, type__in=AdminRole.PRIVILEGED_TYPES).exists()


# --- checks ------------------------------------------------------------------------------------


def _changeable_group(group_id: str) -> OktaGroup:
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


def _clean_profile(
    profile: Mapping[str, Any], *, allowed: Iterable[str], creating: bool = False
) -> dict[str, str]:
    allowed = set(allowed)
    clean: dict[str, str] = {}
    for name, raw in profile.items():
        if name not in allowed:
            raise ActionRefused(f"The profile field {name!r} may not be changed here.", field=name)
        value = "" if raw is None else str(raw).strip()
        limit = PROFILE_FIELDS.get(name, 100)
        if name == "login":
            limit = 100
        if len(value) > limit or _CONTROL.search(value):
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


@dataclass
class Plan:
    """What an action will do: the operations (kind, params) and a summary for people."""

    operations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    summary: str = ""
    later: dict[str, Any] = field(default_factory=dict)  # for user_create's follow-ups


def _plan(
    *,
    actor: User,
    policy: ActionPolicy,
    action: str,
    variant: str,
    target: OktaUser | None,
    params: Mapping[str, Any],
    rels: set[str],
) -> Plan:
    """Check the action's guardrails and say which operations it makes."""
    kind, fixed, label = VARIANTS[action][variant]
    is_self = Requester.SELF in rels
    if target is not None:
        if is_self and variant not in SELF_SERVICE.get(action, set()):
            raise ActionRefused("Nobody may run this action on their own account: ask a colleague.")
        problem = _status_problem(action, variant, target)
        if problem:
            raise ActionRefused(problem)
        if not is_self and not policy.allow_privileged_targets and is_privileged(target.pk):
            raise ActionRefused(
                f"{target} holds a privileged Okta admin role (SUPER_ADMIN / ORG_ADMIN); this "
                "policy does not allow acting on privileged admins."
            )
    base = {"user_id": target.pk} if target is not None else {}
    if action == Action.USER_UPDATE:
        assert target is not None
        # On one's own account only the self-service fields, whatever one's roles.
        fields = policy.self_service_fields if is_self else PROFILE_FIELDS
        profile = _clean_profile(params.get("profile", {}), allowed=fields)
        if profile.get("managerId") == target.pk:
            raise ActionRefused("Nobody can be their own manager.", field="managerId")
        return Plan([(kind, {**base, "profile": profile})], f"{label}: {', '.join(profile)}")
    if action == Action.GROUP_MEMBERSHIP:
        assert target is not None
        group = _changeable_group(str(params.get("group_id", "")))
        if group.name in _portal_role_groups() and actor.okta_id and target.pk == actor.okta_id:
            raise ActionRefused("Nobody may change their own Gatehouse admin roles.")
        member = GroupMembership.objects.filter(group_id=group.pk, user_id=target.pk).exists()
        if variant == "add" and member:
            raise ActionRefused(f"{target} is already a member of {group.name}.")
        if variant == "remove" and not member:
            raise ActionRefused(f"{target} is not a member of {group.name}.")
        return Plan([(kind, {**base, "group_id": group.pk})], f"{label} {group.name}")
    if action == Action.APP_ASSIGNMENT:
        assert target is not None
        app = OktaApp.objects.filter(pk=str(params.get("app_id", ""))).first()
        if app is None:
            raise ActionRefused("That app is not in the directory.", field="app_id")
        assigned = AppAssignment.objects.filter(app_id=app.pk, user_id=target.pk, scope="USER")
        if variant == "assign" and assigned.exists():
            raise ActionRefused(f"{target} is already assigned {app.label}.")
        if variant == "unassign" and not assigned.exists():
            raise ActionRefused(f"{target} has no direct assignment to {app.label}.")
        return Plan([(kind, {**base, "app_id": app.pk})], f"{label} {app.label}")
    if action == Action.USER_CREATE:
        return _plan_create(params, kind)
    if action == Action.GROUP_MANAGE:
        return _plan_group(actor, variant, kind, params)
    extra = dict(fixed)
    if action == Action.SESSIONS_CLEAR and "oauth_tokens" in params:
        extra["oauth_tokens"] = bool(params["oauth_tokens"])
    return Plan([(kind, {**base, **extra})], label)


def _plan_create(params: Mapping[str, Any], kind: str) -> Plan:
    profile = _clean_profile(
        params.get("profile", {}), allowed=[*PROFILE_FIELDS, "login"], creating=True
    )
    for name in ("login", "email", "firstName", "lastName"):
        if not profile.get(name):
            raise ActionRefused(f"{name} is required.", field=name)
    if OktaUser.objects.filter(login__iexact=profile["login"]).exists():
        raise ActionRefused(f"{profile['login']} already exists in Okta.", field="login")
    activation = params.get("activation", "email")
    if activation not in ("email", "url", "none"):
        raise ActionRefused("Activation must be email, url or none.", field="activation")
    group_ids = [str(g) for g in params.get("group_ids", [])]
    groups = {g.pk: g for g in OktaGroup.objects.filter(pk__in=group_ids)}
    for gid in group_ids:
        if gid not in groups:
            raise ActionRefused("A chosen group is not in the directory.", field="group_ids")
        if groups[gid].type != GroupType.OKTA_GROUP:
            raise ActionRefused(
                f"“{groups[gid].name}” is an {groups[gid].type} group: only OKTA_GROUPs "
                "can be given.",
                field="group_ids",
            )
        if groups[gid].name in _portal_role_groups():
            raise ActionRefused(
                "Gatehouse role groups cannot be given at creation.", field="group_ids"
            )
    app_ids = [str(a) for a in params.get("app_ids", [])]
    if OktaApp.objects.filter(pk__in=app_ids).count() != len(set(app_ids)):
        raise ActionRefused("A chosen app is not in the directory.", field="app_ids")
    op_params: dict[str, Any] = {"profile": profile, "activate": activation == "email"}
    if group_ids:
        op_params["group_ids"] = group_ids
    return Plan(
        [(kind, op_params)],
        f"Create {profile['login']}",
        later={"app_ids": app_ids, "activation": activation},
    )


def _plan_group(actor: User, variant: str, kind: str, params: Mapping[str, Any]) -> Plan:
    name = str(params.get("name", "")).strip()
    description = str(params.get("description", "")).strip()
    if variant in ("create", "update"):
        if not name or len(name) > 255 or _CONTROL.search(name):
            raise ActionRefused("A group needs a name of at most 255 characters.", field="name")
        if len(description) > 1024:
            raise ActionRefused("The description is too long.", field="description")
        clash = OktaGroup.objects.filter(name__iexact=name)
        if variant == "update":
            clash = clash.exclude(pk=str(params.get("group_id", "")))
        if clash.exists():
            raise ActionRefused(f"A group called “{name}” already exists.", field="name")
    if variant == "create":
        return Plan([(kind, {"name": name, "description": description})], f"Create {name}")
    group = _changeable_group(str(params.get("group_id", "")))
    if group.name in _portal_role_groups():
        raise ActionRefused(
            f"“{group.name}” grants Gatehouse roles: rename or delete it in Okta itself."
        )
    if variant == "update":
        return Plan(
            [(kind, {"group_id": group.pk, "name": name, "description": description})],
            f"Rename {group.name} to {name}",
        )
    return Plan([(kind, {"group_id": group.pk})], f"Delete {group.name}")


# --- submit, approve, follow -------------------------------------------------------------------

# The kind of approvals request an identity action waits in (see approvals.fulfilment).
APPROVAL_KIND = "identity.action"


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


def _approval_title(action: str, variant: str, plan: Plan, target: OktaUser | None) -> str:
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


def approval_policy_for(policy: ActionPolicy, rels: set[str]) -> Policy | None:
    """The approvals policy this ask is decided under, or None when it goes to Okta at once.
    Self-service asks need no approval unless the policy says so."""
    if policy.approval_policy is None:
        return None
    if rels == {Requester.SELF} and not policy.approval_for_self:
        return None
    return policy.approval_policy


def action_submit(
    *,
    actor: User,
    action: str,
    variant: str,
    target_user_id: str = "",
    params: Mapping[str, Any] | None = None,
    reason: str = "",
    request: Any = None,
) -> ActionRequest:
    """Ask for one action: it runs at once when the policy needs no approval, else it waits in
    the approvals inbox as a request decided under the policy's approval chain. ``reason`` (a
    ticket number or a few words) is kept with the action and in its audit event."""
    params = dict(params or {})
    if action not in VARIANTS or variant not in VARIANTS[action]:
        raise ActionRefused("Unknown action.")
    reason = reason.strip()
    if len(reason) > REASON_MAX or _CONTROL.search(reason):
        raise ActionRefused(
            f"The ticket or reason may have at most {REASON_MAX} plain characters.",
            field="reason",
        )
    policy = policy_for(action)
    if not policy.enabled:
        raise ActionRefused(f"{policy} is turned off by policy.")
    target: OktaUser | None = None
    if action in USER_ACTIONS:
        target = OktaUser.objects.filter(pk=target_user_id).first()
        if target is None:
            raise ActionRefused("That person is not in the directory.")
    rels = relations(
        actor,
        target,
        group_id=str(params.get("group_id", "")),
        app_id=str(params.get("app_id", "")),
    )
    if not set(policy.requesters) & rels:
        raise ActionRefused(f"Policy does not let you ask for “{policy}” here.")
    with transaction.atomic():
        plan = _plan(
            actor=actor,
            policy=policy,
            action=action,
            variant=variant,
            target=target,
            params=params,
            rels=rels,
        )
        approval = approval_policy_for(policy, rels)
        stored = {**params, **plan.later, "summary": plan.summary, "operations": plan.operations}
        if reason:
            stored["reason"] = reason
        key = _open_key(action, variant, plan)
        _refuse_if_open(key)
        try:
            with transaction.atomic():
                req = ActionRequest.objects.create(
                    action=action,
                    variant=variant,
                    params=stored,
                    requested_by=actor.username,
                    requested_by_okta_id=actor.okta_id or "",
                    target_user_id=target.pk if target else "",
                    target_label=str(target) if target else plan.summary,
                    open_key=key,
                )
        except IntegrityError:
            # Someone asked for the same at the same moment and committed first.
            _refuse_if_open(key)
            raise
        if approval is not None:
            try:
                req.approval_request = approval_request_open(
                    requester=actor,
                    kind=APPROVAL_KIND,
                    policy=approval,
                    title=_approval_title(action, variant, plan, target),
                    subject_id=target.pk if target else None,
                    subject_label=str(target) if target else "",
                    http_request=request,
                )
            except ApprovalError as exc:
                raise ActionRefused(exc.message) from exc
            req.save(update_fields=["approval_request"])
        audit_record(
            action="identity.action.requested",
            actor=actor,
            target_type="user" if target else action,
            target_id=target.pk if target else "",
            target_label=req.target_label,
            detail={
                "action_request": req.pk,
                "action": action,
                "variant": variant,
                "summary": plan.summary,
                "approval": approval.name if approval else "none",
                "approval_request": req.approval_request_id,
                **({"reason": reason} if reason else {}),
            },
            request=request,
        )
        if approval is None:
            _dispatch(req, actor)
    return req


def _open_key(action: str, variant: str, plan: Plan) -> str:
    """What makes two asks the same: the action and what it would do in Okta (person, group,
    app, profile values); for a new user or group, its login or name."""
    same: list[Any] = [action, variant, plan.operations]
    if action == Action.USER_CREATE:
        same = [action, str(plan.operations[0][1]["profile"]["login"]).lower()]
    elif action == Action.GROUP_MANAGE and variant == "create":
        same = [action, variant, str(plan.operations[0][1]["name"]).lower()]
    return hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()


def _refuse_if_open(key: str) -> None:
    """Refuse an ask while the same one waits for approval or runs in Okta; the key of one that
    is over is let go so it can be asked again. Call inside the ask's transaction."""
    earlier = (
        ActionRequest.objects.select_for_update(of=("self",))
        .select_related("approval_request")
        .filter(open_key=key)
        .first()
    )
    if earlier is None:
        return
    approval = earlier.approval_request
    if approval is not None:
        still_open = approval.status in OPEN_STATUSES
        waiting = "waits for approval" if approval.status == RequestStatus.PENDING else "runs"
    else:
        still_open = Operation.objects.filter(
            correlation=earlier.correlation,
            status__in=[OperationStatus.PENDING, OperationStatus.RUNNING],
        ).exists()
        waiting = "runs"
    if still_open:
        raise ActionRefused(
            f"“{earlier.summary}” for {earlier.target_label} was already asked for and still "
            f"{waiting} (#{earlier.pk}): nothing new was asked.",
            open_pk=earlier.pk,
        )
    ActionRequest.objects.filter(pk=earlier.pk).update(open_key=None)


def _dispatch(req: ActionRequest, actor: Any) -> list[Operation]:
    """Operations of an action that needs no approval, written at once."""
    ops = []
    for kind, op_params in req.params.get("operations", []):
        callback = CALLBACK_TASK if kind == OperationKind.USER_CREATE else ""
        ops.append(
            operation_enqueue(
                kind=kind,
                params=op_params,
                actor=actor,
                correlation=req.correlation,
                callback_task=callback,
            )
        )
    return ops


def approved_operations(approval: AccessRequest, actor: Any) -> list[OperationSpec]:
    """Fulfilment hook, at the final approval of an action (approvals' transaction, its row
    locked): re-check what may have changed while it waited, then give its operations."""
    req = ActionRequest.objects.get(approval_request=approval)
    try:
        _recheck(req)
    except ActionRefused as exc:
        raise ApprovalError(exc.message) from exc
    audit_record(
        action="identity.action.approved",
        actor=actor,
        target_type="user" if req.target_user_id else req.action,
        target_id=req.target_user_id,
        target_label=req.target_label,
        detail={
            "action_request": req.pk,
            "action": req.action,
            "variant": req.variant,
            "approval_request": approval.pk,
        },
    )
    return [(kind, dict(op_params)) for kind, op_params in req.params.get("operations", [])]


def approved_followups(approval: AccessRequest, op: Operation) -> list[OperationSpec]:
    """Fulfilment hook: after an approved user creation, its app assignments and activation."""
    if op.kind != OperationKind.USER_CREATE:
        return []
    return _create_followups(ActionRequest.objects.get(approval_request=approval), op)


def approval_link(approval: AccessRequest) -> str:
    """Fulfilment hook: the action's own page."""
    pk = ActionRequest.objects.filter(approval_request=approval).values_list("pk", flat=True)
    return reverse("identity:action_detail", args=[pk.get()])


def _recheck(req: ActionRequest) -> None:
    """What may have changed while the action waited: the policy, the person's state."""
    policy = policy_for(req.action)
    if not policy.enabled:
        raise ActionRefused(f"{policy} has been turned off since it was asked for.")
    if not req.target_user_id or req.action not in USER_ACTIONS:
        return
    target = OktaUser.objects.filter(pk=req.target_user_id).first()
    if target is None:
        raise ActionRefused("The person is no longer in the directory: deny this action.")
    problem = _status_problem(req.action, req.variant, target)
    if problem:
        raise ActionRefused(f"No longer possible: {problem} Deny this action.")
    if not policy.allow_privileged_targets and is_privileged(target.pk):
        raise ActionRefused(
            f"{target} now holds a privileged admin role; policy protects them. Deny this action."
        )


def _create_followups(req: ActionRequest, op: Operation) -> list[OperationSpec]:
    """After a user.create succeeded: assign the chosen apps and, for activation without
    email, activate the new user for a one-time activation link. Nothing for a repeated
    callback (the follow-ups exist already)."""
    user_id = str(op.result.get("user_id", ""))
    if op.status != OperationStatus.SUCCEEDED or not user_id:
        return []
    if Operation.objects.filter(correlation=req.correlation).exclude(pk=op.pk).exists():
        return []
    specs: list[OperationSpec] = [
        (OperationKind.APP_USER_ASSIGN, {"app_id": app_id, "user_id": user_id})
        for app_id in req.params.get("app_ids", [])
    ]
    if req.params.get("activation") == "url":
        specs.append((OperationKind.USER_ACTIVATE, {"user_id": user_id, "send_email": False}))
    req.target_user_id = user_id
    req.save(update_fields=["target_user_id"])
    return specs


def operation_finished(*, operation_id: int) -> None:
    """Callback after the user.create operation of an action that needed no approval (an
    approved one is followed by approvals, through ``approved_followups``)."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None or not op.correlation.startswith("action:"):
        return
    if op.kind != OperationKind.USER_CREATE or op.status != OperationStatus.SUCCEEDED:
        return
    with transaction.atomic():
        req = ActionRequest.objects.select_for_update().filter(pk=op.correlation[7:]).first()
        if req is None:
            return
        for kind, op_params in _create_followups(req, op):
            operation_enqueue(
                kind=kind, params=op_params, actor="system", correlation=req.correlation
            )


def action_outcome(req: ActionRequest, ops: list[Operation]) -> str:
    """Waiting, denied, cancelled or expired while its approval is open or refused; else
    what Okta answered."""
    approval = req.approval_request
    if approval is not None and approval.status in CLOSED_OR_WAITING:
        return approval.get_status_display()
    if any(op.status == OperationStatus.FAILED for op in ops):
        return "Failed"
    if ops and all(op.status == OperationStatus.SUCCEEDED for op in ops):
        return "Done"
    return "Running"


def action_reveal_secret(*, actor: User, request_id: int, operation_id: int) -> dict[str, str]:
    """The one-time reset link / temporary password, once, to the person who asked."""
    from okta.operations import operation_reveal_secret

    req = ActionRequest.objects.filter(pk=request_id, requested_by=actor.username).first()
    if (
        req is None
        or not Operation.objects.filter(pk=operation_id, correlation=req.correlation).exists()
    ):
        raise ActionRefused("No such secret.")
    return operation_reveal_secret(operation_id=operation_id, actor=actor)


# --- policy editing -----------------------------------------------------------------------------


def action_policy_save(*, actor: User, policy: ActionPolicy, changes: Mapping[str, Any]) -> None:
    if not is_admin(actor):
        raise ActionRefused("Only admins edit action policies.")
    unknown = set(changes.get("requesters", [])) - set(Requester.values)
    if unknown:
        raise ActionRefused("Unknown requester kinds.", field="requesters")
    bad_fields = set(changes.get("self_service_fields", [])) - set(PROFILE_FIELDS)
    if bad_fields:
        raise ActionRefused(
            f"Unknown profile fields: {', '.join(sorted(bad_fields))}.",
            field="self_service_fields",
        )
    if "managerId" in changes.get("self_service_fields", []):
        raise ActionRefused("People may not choose their own manager.", field="self_service_fields")
    chain = changes.get("approval_policy")
    if chain is not None and not chain.stages.exists():
        raise ActionRefused(
            f"Policy “{chain.name}” has no stages: nobody could approve.", field="approval_policy"
        )

    def shown(value: Any) -> Any:
        return value.name if isinstance(value, Policy) else value

    with transaction.atomic():
        before = {name: getattr(policy, name) for name in changes}
        for name, value in changes.items():
            setattr(policy, name, value)
        policy.updated_by = actor.username
        policy.save()
        audit_record(
            action="identity.policy.updated",
            actor=actor,
            target_type="action_policy",
            target_id=policy.action,
            detail={
                "changes": {
                    k: {"from": shown(before[k]), "to": shown(v)}
                    for k, v in changes.items()
                    if before[k] != v
                }
            },
        )


# --- bulk --------------------------------------------------------------------------------------

# bulk action -> (policy action, variant)
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
PREVIEW_ROWS = 500


def selection_queryset(selection: Mapping[str, Any]) -> QuerySet[OktaUser]:
    """People picked by a directory search or a group's members (or a list of logins)."""
    qs = OktaUser.objects.all()
    if selection.get("department"):
        qs = qs.filter(department__iexact=selection["department"])
    if selection.get("status"):
        qs = qs.filter(status=selection["status"])
    days = selection.get("inactive_days")
    if days:
        cutoff = timezone.now() - timedelta(days=int(days))
        qs = qs.filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True))
    if selection.get("group_id"):
        qs = qs.filter(
            Exists(
                GroupMembership.objects.filter(
                    group_id=selection["group_id"], user_id=OuterRef("pk")
                )
            )
        )
    logins = selection.get("logins") or []
    if logins:
        lowered = [x.lower() for x in logins]
        qs = qs.filter(Q(login__in=lowered) | Q(email__in=lowered))
    searched = any(selection.get(k) for k in ("department", "status", "inactive_days", "group_id"))
    if not searched and not logins:
        return qs.none()  # an empty search never selects the whole directory
    return qs


@dataclass
class PreviewRow:
    user_id: str
    label: str
    login: str
    status: str
    change: str
    skip: str  # why this person is left out ("" = they change)
    op: tuple[str, dict[str, Any]] | None = None


@dataclass
class Preview:
    action: str
    params: dict[str, Any]
    selection: dict[str, Any]
    rows: list[PreviewRow]
    hash: str
    changing: int
    skipped: int
    threshold: int
    needs_approval: bool = False

    @property
    def needs_second_admin(self) -> bool:
        """Above the policy's size, or for an action whose policy wants any approval (bulk
        must not be a way around the two-person rule of a single suspend)."""
        return self.changing > self.threshold or self.needs_approval

    def shown(self) -> list[PreviewRow]:
        return self.rows[:PREVIEW_ROWS]


def _bulk_targets(
    *, action: str, params: Mapping[str, Any], actor: User
) -> tuple[str, str, ActionPolicy, list[tuple[str, str]]]:
    """Check the bulk action itself; (policy action, variant, policy, [(target id, label)])."""
    if action not in BULK_ACTIONS:
        raise ActionRefused("Pick an action.", field="action")
    policy_action, variant, _ = BULK_ACTIONS[action]
    policy = policy_for(policy_action)
    if not policy.enabled:
        raise ActionRefused(f"{policy} is turned off by policy.")
    if not is_admin(actor) or Requester.ADMIN not in policy.requesters:
        raise ActionRefused("Only admins run bulk operations.")
    targets: list[tuple[str, str]] = []
    if action in ("group_add", "group_remove"):
        group = _changeable_group(str(params.get("group_id", "")))
        if group.name in _portal_role_groups():
            raise ActionRefused("Gatehouse role groups are not changed in bulk.", field="group_id")
        targets = [(group.pk, group.name)]
    elif action in ("app_assign", "app_unassign"):
        ids = [str(a) for a in params.get("app_ids", [])]
        apps = list(OktaApp.objects.filter(pk__in=ids).order_by("label"))
        if not ids or len(apps) != len(set(ids)):
            raise ActionRefused("Pick one or more apps from the directory.", field="app_ids")
        targets = [(a.pk, a.label) for a in apps]
    return policy_action, variant, policy, targets


def bulk_preview(
    *, actor: User, action: str, params: Mapping[str, Any], selection: Mapping[str, Any]
) -> Preview:
    """Exactly who changes and how: one query for the people (with what matters about them
    annotated) plus one for existing memberships or assignments."""
    policy_action, variant, policy, targets = _bulk_targets(
        action=action, params=params, actor=actor
    )
    kind, fixed, label = VARIANTS[policy_action][variant]
    privileged = AdminRole.objects.filter(
        user_id=OuterRef("pk"), type__in=AdminRole.PRIVILEGED_TYPES
    )
    people = (
        selection_queryset(selection)
        .annotate(privileged=Exists(privileged))
        .order_by("last_name", "first_name", "id")
        .values_list("id", "first_name", "last_name", "login", "status", "privileged")
    )
    existing: set[tuple[str, str]] = set()
    if action in ("group_add", "group_remove"):
        existing = set(
            GroupMembership.objects.filter(
                group_id=targets[0][0], user_id__in=selection_queryset(selection).values("pk")
            ).values_list("group_id", "user_id")
        )
    elif action in ("app_assign", "app_unassign"):
        existing = set(
            AppAssignment.objects.filter(
                app_id__in=[t[0] for t in targets],
                scope="USER",
                user_id__in=selection_queryset(selection).values("pk"),
            ).values_list("app_id", "user_id")
        )
    rule = REQUIRED_STATUS.get((policy_action, variant))
    rows: list[PreviewRow] = []
    for user_id, first, last, login, status, is_priv in people.iterator(chunk_size=2000):
        name = f"{first} {last}".strip() or login
        skip = ""
        if user_id == actor.okta_id:
            skip = "you cannot act on your own account"
        elif is_priv and not policy.allow_privileged_targets:
            skip = "holds a privileged admin role"
        elif rule and status not in rule[0]:
            skip = f"is {status}"
        if not targets:
            rows.append(
                PreviewRow(
                    user_id,
                    name,
                    login,
                    status,
                    label,
                    skip,
                    None if skip else (kind, {"user_id": user_id, **fixed}),
                )
            )
            continue
        for target_id, target_label in targets:
            reason = skip
            has = (target_id, user_id) in existing
            adding = action in ("group_add", "app_assign")
            if not reason and adding and has:
                reason = "already there"
            elif not reason and not adding and not has:
                reason = "not there"
            key = "group_id" if action.startswith("group") else "app_id"
            rows.append(
                PreviewRow(
                    user_id,
                    name,
                    login,
                    status,
                    f"{label}: {target_label}",
                    reason,
                    None if reason else (kind, {"user_id": user_id, key: target_id}),
                )
            )
    digest = hashlib.sha256(
        json.dumps(
            [action, dict(params), [(r.user_id, r.change) for r in rows if not r.skip]],
            sort_keys=True,
        ).encode()
    ).hexdigest()
    changing = sum(1 for r in rows if not r.skip)
    return Preview(
        action=action,
        params=dict(params),
        selection=dict(selection),
        rows=rows,
        hash=digest,
        changing=changing,
        skipped=len(rows) - changing,
        threshold=policy.bulk_confirm_threshold,
        needs_approval=policy.approval_policy_id is not None,
    )


def bulk_confirm(
    *,
    actor: User,
    action: str,
    params: Mapping[str, Any],
    selection: Mapping[str, Any],
    preview_hash: str,
) -> BulkRun:
    """Start a bulk run exactly as previewed; a stale preview is refused. Above the policy's
    threshold the run waits for a second admin."""
    preview = bulk_preview(actor=actor, action=action, params=params, selection=selection)
    if preview.hash != preview_hash:
        raise ActionRefused(
            "The directory changed since the preview: nothing was done. Preview again."
        )
    if not preview.changing:
        raise ActionRefused("Nobody would change: nothing to do.")
    with transaction.atomic():
        run = BulkRun.objects.create(
            action=action,
            params=preview.params,
            selection=preview.selection,
            preview_hash=preview.hash,
            total=preview.changing,
            status=BulkStatus.AWAITING_CONFIRMATION
            if preview.needs_second_admin
            else BulkStatus.RUNNING,
            requested_by=actor.username,
            requested_by_okta_id=actor.okta_id or "",
        )
        audit_record(
            action="identity.bulk.confirmed",
            actor=actor,
            target_type="bulk_run",
            target_id=str(run.pk),
            detail={
                "bulk_run": run.pk,
                "action": action,
                "selection": preview.selection,
                "changing": preview.changing,
                "skipped": preview.skipped,
                "preview_hash": preview.hash,
                "needs_second_admin": preview.needs_second_admin,
            },
        )
        if run.status == BulkStatus.RUNNING:
            _bulk_dispatch(run, preview, actor)
    return run


def _bulk_dispatch(run: BulkRun, preview: Preview, actor: Any) -> None:
    """One operation per change, then one item per change pointing at it (two bulk inserts)."""
    rows = [r for r in preview.rows if not r.skip and r.op is not None]
    ops = operations_enqueue(
        items=[
            {"kind": r.op[0], "params": r.op[1], "correlation": run.correlation}
            for r in rows
            if r.op
        ],
        actor=actor,
    )
    BulkItem.objects.bulk_create(
        [
            BulkItem(run=run, user_id=r.user_id, label=r.label, change=r.change, operation_id=op.pk)
            for r, op in zip(rows, ops, strict=True)
        ],
        batch_size=1000,
    )


def bulk_run_preview(run: BulkRun) -> Preview:
    """The run's selection as it stands now, seen by the admin who started it (what a second
    admin confirms)."""
    requester = User.objects.filter(username=run.requested_by).first()
    if requester is None:
        raise ActionRefused("The admin who started this run is gone: start again.")
    return bulk_preview(
        actor=requester, action=run.action, params=run.params, selection=run.selection
    )


def bulk_second_confirm(*, actor: User, run_id: int) -> BulkRun:
    """A second admin confirms a large run; the selection must still match its preview."""
    with transaction.atomic():
        run = BulkRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise ActionRefused("No such bulk run.")
        if run.status != BulkStatus.AWAITING_CONFIRMATION:
            raise ActionRefused("This run is not waiting for a confirmation.")
        if not is_admin(actor) or actor.username == run.requested_by:
            raise ActionRefused("A second admin, not the one who started it, must confirm.")
        preview = bulk_run_preview(run)
        if preview.hash != run.preview_hash:
            raise ActionRefused(
                "The directory changed since the preview: nothing was done. Start again."
            )
        run.status = BulkStatus.RUNNING
        run.confirmed_by = actor.username
        run.save(update_fields=["status", "confirmed_by"])
        audit_record(
            action="identity.bulk.second_confirmed",
            actor=actor,
            target_type="bulk_run",
            target_id=str(run.pk),
            detail={"bulk_run": run.pk, "action": run.action, "changing": run.total},
        )
        _bulk_dispatch(run, preview, actor)
    return run


@dataclass
class Progress:
    total: int
    succeeded: int
    failed: int
    pending: int
    status: str = BulkStatus.RUNNING  # the run's own: waiting for a second admin, cancelled

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def state(self) -> str:
        """Where the run stands, for a person: the stored status says only whether its
        changes were sent; whether Okta has carried them out is in their operations."""
        if self.status != BulkStatus.RUNNING:
            return BulkStatus(self.status).label
        if not self.finished:
            return f"Running: {self.done} of {self.total} done"
        if self.failed:
            return f"Finished with {self.failed} failure{'s' if self.failed != 1 else ''}"
        return "Finished"


def bulk_progress(run: BulkRun) -> Progress:
    """One grouped count over the run's operations."""
    return bulk_progress_of([run])[run.pk]


def bulk_progress_of(runs: Iterable[BulkRun]) -> dict[int, Progress]:
    """Each run's progress by its id, from one grouped count over all their operations."""
    by_correlation = {run.correlation: run for run in runs}
    counts: dict[str, dict[str, int]] = {c: {} for c in by_correlation}
    rows = (
        Operation.objects.filter(correlation__in=list(by_correlation))
        .values_list("correlation", "status")
        .annotate(n=Count("id"))
        .values_list("correlation", "status", "n")
    )
    for correlation, status, n in rows:
        counts[correlation][status] = n
    out: dict[int, Progress] = {}
    for correlation, run in by_correlation.items():
        succeeded = counts[correlation].get(OperationStatus.SUCCEEDED, 0)
        failed = counts[correlation].get(OperationStatus.FAILED, 0)
        out[run.pk] = Progress(
            run.total, succeeded, failed, run.total - succeeded - failed, status=run.status
        )
    return out


def bulk_retry_failures(*, actor: User, run_id: int) -> int:
    """Send only the run's failed operations to Okta again; returns how many."""
    if not is_admin(actor):
        raise ActionRefused("Only admins retry bulk runs.")
    run = BulkRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ActionRefused("No such bulk run.")
    failed = Operation.objects.filter(
        correlation=run.correlation, status=OperationStatus.FAILED
    ).values_list("pk", flat=True)
    return sum(operation_retry(operation_id=pk, actor=actor) for pk in list(failed))


def admin_role_report(types: Iterable[str]) -> Iterator[tuple[OktaUser, list[str], list[str]]]:
    """People holding any of the Okta admin role ``types``, with their roles and groups."""
    wanted = list(types)
    people = list(
        OktaUser.objects.filter(
            Exists(AdminRole.objects.filter(user_id=OuterRef("pk"), type__in=wanted))
        ).order_by("last_name", "first_name", "id")
    )
    ids = [p.pk for p in people]
    roles: dict[str, list[str]] = {}
    for user_id, role in AdminRole.objects.filter(user_id__in=ids).values_list("user_id", "type"):
        roles.setdefault(user_id, []).append(role)
    groups: dict[str, list[str]] = {}
    for user_id, name in (
        GroupMembership.objects.filter(user_id__in=ids)
        .order_by("group__name")
        .values_list("user_id", "group__name")
    ):
        groups.setdefault(user_id, []).append(name)
    for person in people:
        yield person, sorted(roles.get(person.pk, [])), groups.get(person.pk, [])
