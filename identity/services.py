"""Identity actions under policy: keyword-only services, acting user explicit, one transaction
each with its audit event; Okta is reached only through the okta outbox.

``action_submit`` checks the action's policy and guardrails (``identity.guardrails``), then
either queues the Okta operations at once or leaves an ``ActionRequest`` PENDING as an approvals
request; at its final approval ``approved_operations`` re-checks what may have changed while it
waited. What each action is and which operation it makes is ``identity.actions``; bulk runs are
``identity.bulk``. Refusals raise ``ActionRefused`` with a sentence for the person who acted;
nothing has changed when it is raised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from accounts.models import User
from approvals.fulfilment import OperationSpec
from approvals.models import OPEN_STATUSES, AccessRequest, Policy, RequestStatus
from approvals.services.common import ApprovalError
from approvals.services.requests import approval_request_open
from audit.services import audit_record
from identity.actions import (
    PROFILE_FIELDS,
    REASON_MAX,
    USER_ACTIONS,
    VARIANTS,
    Plan,
    approval_title,
    needs_confirmation,
)
from identity.guardrails import (
    CONTROL_CHARACTERS,
    ActionRefused,
    changeable_group,
    clean_profile,
    is_privileged,
    portal_role_groups,
    privileged_target_refusal,
    self_target_refusal,
    status_problem,
)
from identity.models import Action, ActionPolicy, ActionRequest, Requester
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
)
from okta.operations import operation_enqueue

CALLBACK_TASK = "identity.operation_finished"
# Approval states in which the action's outcome is the approval's, not Okta's.
CLOSED_OR_WAITING = (
    RequestStatus.PENDING,
    RequestStatus.DENIED,
    RequestStatus.CANCELLED,
    RequestStatus.EXPIRED,
)


# --- who may ask for what ----------------------------------------------------------------------


# Asked as ``user.has_perm(...)`` (accounts/roles.py ROLE_PERMISSIONS grants them to roles;
# superusers hold every permission, as Django gives them):
#   identity.ask_as_helpdesk    ask as "helpdesk" where an action's policy names it
#   identity.ask_as_admin       ask as "admin" where an action's policy names it
#   identity.view_all_actions   open anyone's action and its outcome
#   identity.manage_directory   create users, manage groups and app assignments
#   identity.run_bulk           preview, confirm (as first or second admin) and retry bulk runs
#   identity.manage_policies    edit the action policies
#   identity.view_admin_roles   the admin-roles report (admins, auditors)
# Who may ask for each action stays the action's policy (ActionPolicy.requesters): these say only
# which of its kinds a person is; self, manager and owners come from the person asked about.
# Managers hold no named permission: what they may do is decided per person (their reports).


def may_search_people(user: User) -> bool:
    """Whether the people search is for ``user``: those who see the whole directory (helpdesk,
    admins), and managers, who find their reports there."""
    if user.has_perm("okta.view_directory"):
        return True
    return bool(user.okta_id) and OktaUser.objects.filter(manager_id=user.okta_id).exists()


def policy_for(action: str) -> ActionPolicy:
    policy = ActionPolicy.objects.filter(action=action).first()
    if policy is None:
        raise ActionRefused(f"There is no policy for {action}: an admin must set one.")
    return policy


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
    if actor.has_perm("identity.ask_as_helpdesk"):
        found.add(Requester.HELPDESK)
    if actor.has_perm("identity.ask_as_admin"):
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
    # Asked once for all of the person's actions (the refusal never protects one from oneself).
    privileged = not is_self and is_privileged(target.pk)
    out = []
    for policy in _enabled_policies():
        if policy.action not in USER_ACTIONS or not set(policy.requesters) & mine:
            continue
        if privileged_target_refusal(actor.okta_id, target, policy, privileged=privileged):
            continue
        for variant, (_, _, label) in VARIANTS[policy.action].items():
            if is_self and self_target_refusal(policy.action, variant):
                continue
            if not status_problem(policy.action, variant, target):
                out.append((policy.action, variant, label))
    return out


def actions_offered(actor: User, target: OktaUser) -> list[tuple[str, str, str, bool]]:
    """(action, variant, label, confirm first) for each action the person pages offer."""
    return [
        (action, variant, label, needs_confirmation(actor, action, variant, target))
        for action, variant, label in allowed_variants(actor, target)
    ]


# --- what an action does -----------------------------------------------------------------------


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
        refusal = self_target_refusal(action, variant) if is_self else None
        if refusal:
            raise ActionRefused(refusal)
        problem = status_problem(action, variant, target)
        if problem:
            raise ActionRefused(problem)
        refusal = privileged_target_refusal(actor.okta_id, target, policy)
        if refusal:
            raise ActionRefused(refusal)
    base = {"user_id": target.pk} if target is not None else {}
    if action == Action.USER_UPDATE:
        assert target is not None
        # On one's own account only the self-service fields, whatever one's roles.
        fields = policy.self_service_fields if is_self else PROFILE_FIELDS
        profile = clean_profile(params.get("profile", {}), allowed=fields)
        if profile.get("managerId") == target.pk:
            raise ActionRefused("Nobody can be their own manager.", field="managerId")
        return Plan([(kind, {**base, "profile": profile})], f"{label}: {', '.join(profile)}")
    if action == Action.GROUP_MEMBERSHIP:
        assert target is not None
        group = changeable_group(str(params.get("group_id", "")))
        if group.name in portal_role_groups() and actor.okta_id and target.pk == actor.okta_id:
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
    profile = clean_profile(
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
        if groups[gid].name in portal_role_groups():
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
        if not name or len(name) > 255 or CONTROL_CHARACTERS.search(name):
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
    group = changeable_group(str(params.get("group_id", "")))
    if group.name in portal_role_groups():
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
    if len(reason) > REASON_MAX or CONTROL_CHARACTERS.search(reason):
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
                    title=approval_title(action, variant, plan, target),
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
        action_recheck(req)
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


def action_recheck(req: ActionRequest) -> None:
    """Refuse an action that waited for approval if what allowed it has changed since: its
    policy, the person (still there, in the state the variant needs, not protected as a
    privileged admin from the person who asked)."""
    policy = policy_for(req.action)
    if not policy.enabled:
        raise ActionRefused(f"{policy} has been turned off since it was asked for.")
    if not req.target_user_id or req.action not in USER_ACTIONS:
        return
    target = OktaUser.objects.filter(pk=req.target_user_id).first()
    if target is None:
        raise ActionRefused("The person is no longer in the directory: deny this action.")
    problem = status_problem(req.action, req.variant, target)
    if problem:
        raise ActionRefused(f"No longer possible: {problem} Deny this action.")
    refusal = privileged_target_refusal(req.requested_by_okta_id, target, policy)
    if refusal:
        raise ActionRefused(f"No longer possible: {refusal} Deny this action.")


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
    if not actor.has_perm("identity.manage_policies"):
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


# --- reports ------------------------------------------------------------------------------------


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
