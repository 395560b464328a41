"""Business operations of approvals: keyword-only, acting user explicit, one transaction each,
the audit event written inside it, emails and Celery work queued only after commit.

Refusals raise ``ApprovalError`` with a sentence meant for the person who acted; nothing has
changed when it is raised.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals import notifications
from approvals.fulfilment import OperationSpec, fulfilment_for
from approvals.models import (
    FALLBACK_TIER,
    OPEN_STATUSES,
    AccessRequest,
    ApproverKind,
    CatalogItem,
    Decision,
    DecisionOutcome,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    PolicyStage,
    RequestApprover,
    RequestEvent,
    RequestStatus,
    StageRule,
    may_decide_q,
    not_requestable_reason,
)
from audit.services import audit_record, audit_record_many
from core.errors import ServiceError
from okta.models import (
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
from okta.operations import (
    OperationInvalid,
    operation_retry,
    operation_validate,
    operations_enqueue,
)
from okta.operations import operation_enqueue as _operation_enqueue

logger = logging.getLogger(__name__)

CALLBACK_TASK = "approvals.operation_finished"
# Okta users who can sign in and act; anyone else is skipped when resolving approvers.
ACTING_STATUSES = ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY")
GRANTABLE_SUBJECT_STATUSES = (*ACTING_STATUSES, "PROVISIONED", "STAGED")


def operation_enqueue(**kwargs: Any) -> Operation:
    """okta's enqueue, with its refusal turned into a message for people (nothing written)."""
    try:
        return _operation_enqueue(**kwargs)
    except OperationInvalid as exc:
        raise ApprovalError(f"Gatehouse cannot send this change to Okta: {exc}") from exc


class ApprovalError(ServiceError):
    """A refusal with a plain message; ``field`` names the form field it concerns, if any."""


# --- who may do what ----------------------------------------------------------------------
# Asked as ``user.has_perm(...)``: admins hold these (accounts/roles.py ROLE_PERMISSIONS) and
# superusers every permission, as Django gives them. Employees and managers hold none: what they
# may do is decided per request (the model's can_be_decided_by, can_be_cancelled_by, is_party).
#   approvals.manage_catalog     publish and edit catalog items
#   approvals.manage_policies    edit approval policies
#   approvals.view_all_requests  open anyone's request (its page, the subject's access)
#   approvals.manage_grants      list everyone's active grants, end one
#   approvals.retry_fulfilment   the operation queue; send a failed request or removal again


def subjects_for(user: User) -> list[OktaUser]:
    """The people this user may request for: themselves, then their direct reports."""
    if not user.okta_id:
        return []
    me = OktaUser.objects.filter(pk=user.okta_id)
    reports = OktaUser.objects.filter(manager_id=user.okta_id).exclude(pk=user.okta_id)
    return list(me) + list(reports.order_by("last_name", "first_name", "id"))


def _label(user: User) -> str:
    return str(user)


def _event(
    req: AccessRequest, kind: str, text: str, actor: str = "", problem: bool = False
) -> None:
    RequestEvent.objects.create(
        request=req, kind=kind, text=text, actor_label=actor, is_problem=problem
    )


def _request_audit(
    req: AccessRequest, action: str, actor: Any, outcome: str = "success", **detail: Any
) -> dict[str, Any]:
    """The audit event of a change to ``req``, as keyword arguments of ``audit_record``."""
    return {
        "action": action,
        "actor": actor,
        "target_type": "access_request",
        "target_id": str(req.pk),
        "target_label": req.label,
        "outcome": outcome,
        "detail": {
            "status": req.status,
            **({"kind": req.kind} if req.kind else {"item_id": req.item_id}),
            "subject": req.subject_id,
            **detail,
        },
    }


def _audit_request(
    req: AccessRequest,
    action: str,
    actor: Any,
    http_request: HttpRequest | None = None,
    outcome: str = "success",
    **detail: Any,
) -> None:
    audit_record(**_request_audit(req, action, actor, outcome, **detail), request=http_request)


@dataclass
class _Writes:
    """What deciding or routing requests writes besides the requests themselves, gathered so
    that a batch costs one insert per table: timeline events, audit events (chained in the
    order given) and the emails to send after commit."""

    events: list[RequestEvent] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    notes: list[notifications.Note] = field(default_factory=list)

    def event(
        self, req: AccessRequest, kind: str, text: str, actor: str = "", problem: bool = False
    ) -> None:
        self.events.append(
            RequestEvent(request=req, kind=kind, text=text, actor_label=actor, is_problem=problem)
        )

    def audit_request(self, req: AccessRequest, action: str, actor: Any, **detail: Any) -> None:
        self.audit.append(_request_audit(req, action, actor, **detail))

    def flush_audit(self, http_request: HttpRequest | None) -> None:
        audit_record_many(events=self.audit, request=http_request)
        self.audit = []

    def flush(self, http_request: HttpRequest | None) -> None:
        RequestEvent.objects.bulk_create(self.events)
        self.flush_audit(http_request)
        notifications.send_after_commit(*self.notes)


# --- catalog and policies -----------------------------------------------------------------


CATALOG_FIELDS = (
    "name",
    "description",
    "department",
    "owners",
    "approver_group",
    "policy",
    "default_duration_days",
    "max_duration_days",
    "reason_required",
    "risk",
    "published",
)


def _check_item(item: CatalogItem) -> None:
    if item.kind == ItemKind.GROUP:
        group = OktaGroup.objects.filter(pk=item.group_id).first()
        if group is None:
            raise ApprovalError("That Okta group is not in the directory mirror.", field="group")
        if group.type != GroupType.OKTA_GROUP:
            raise ApprovalError(not_requestable_reason(group), field="group")
    elif not OktaApp.objects.filter(pk=item.app_id).exists():
        raise ApprovalError("That Okta app is not in the directory mirror.", field="app")
    if item.max_duration_days is not None:
        if item.default_duration_days is None:
            raise ApprovalError(
                "Give a default duration when there is a maximum.", field="default_duration_days"
            )
        if item.default_duration_days > item.max_duration_days:
            raise ApprovalError(
                "The default duration cannot be longer than the maximum.",
                field="default_duration_days",
            )
    missing_group = item.missing_approver_group_reason()
    if missing_group:
        raise ApprovalError(missing_group, field="approver_group")
    unknown = set(item.owners) - set(
        OktaUser.objects.filter(id__in=item.owners).values_list("id", flat=True)
    )
    if unknown:
        raise ApprovalError(
            f"Unknown owner Okta id(s): {', '.join(sorted(unknown))}.", field="owners"
        )


def catalog_item_save(
    *,
    actor: User,
    item: CatalogItem,
    http_request: HttpRequest | None = None,
) -> CatalogItem:
    """Create or update a catalog item the caller has filled in (not yet saved)."""
    if not actor.has_perm("approvals.manage_catalog"):
        raise ApprovalError("Only catalog admins can change the catalog.")
    _check_item(item)
    if item.kind == ItemKind.GROUP and item.group_id and not item.name:
        item.name = OktaGroup.objects.get(pk=item.group_id).name
    if item.kind == ItemKind.APP and item.app_id and not item.name:
        item.name = OktaApp.objects.get(pk=item.app_id).label
    created = item.pk is None
    with transaction.atomic():
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError as exc:
            raise ApprovalError("That group or app is already in the catalog.") from exc
        audit_record(
            action="catalog.item.created" if created else "catalog.item.updated",
            actor=actor,
            target_type="catalog_item",
            target_id=str(item.pk),
            target_label=item.name,
            detail={f: _jsonable(getattr(item, _attname(f))) for f in CATALOG_FIELDS},
            request=http_request,
        )
    return item


def _attname(field: str) -> str:
    return f"{field}_id" if field in ("approver_group", "policy") else field


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, bool, list, type(None))) else str(value)


def catalog_item_publish(
    *, actor: User, item_id: int, published: bool, http_request: HttpRequest | None = None
) -> CatalogItem:
    if not actor.has_perm("approvals.manage_catalog"):
        raise ApprovalError("Only catalog admins can publish items.")
    with transaction.atomic():
        item = (
            CatalogItem.objects.select_for_update(of=("self",))
            .select_related("group")
            .get(pk=item_id)
        )
        if published and item.not_requestable_reason:
            raise ApprovalError(item.not_requestable_reason)
        if published and item.missing_approver_group_reason():
            raise ApprovalError(item.missing_approver_group_reason(), field="approver_group")
        item.published = published
        item.save(update_fields=["published", "updated_at"])
        audit_record(
            action="catalog.item.published" if published else "catalog.item.unpublished",
            actor=actor,
            target_type="catalog_item",
            target_id=str(item.pk),
            target_label=item.name,
            detail={"published": published},
            request=http_request,
        )
    return item


def policy_save(
    *,
    actor: User,
    policy: Policy,
    stages: list[tuple[str, str]],
    http_request: HttpRequest | None = None,
) -> Policy:
    """Create or update a policy and replace its stages (1-3 of them)."""
    if not actor.has_perm("approvals.manage_policies"):
        raise ApprovalError("Only admins can change policies.")
    if not 1 <= len(stages) <= 3:
        raise ApprovalError("A policy has one to three stages.", field="stages")
    for approvers, rule in stages:
        if approvers not in ApproverKind.values or rule not in StageRule.values:
            raise ApprovalError("Unknown approver kind or rule.", field="stages")
    if policy.pk and any(a == ApproverKind.APPROVER_GROUP for a, _ in stages):
        _refuse_items_without_approver_group(policy)
    created = policy.pk is None
    with transaction.atomic():
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:
            raise ApprovalError("A policy with that name exists.", field="name") from exc
        policy.stages.all().delete()
        PolicyStage.objects.bulk_create(
            PolicyStage(policy=policy, position=i, approvers=a, rule=r)
            for i, (a, r) in enumerate(stages, start=1)
        )
        audit_record(
            action="policy.created" if created else "policy.updated",
            actor=actor,
            target_type="policy",
            target_id=str(policy.pk),
            target_label=policy.name,
            detail={
                "stages": [{"approvers": a, "rule": r} for a, r in stages],
                "auto_approve_max_risk": policy.auto_approve_max_risk,
                "auto_approve_departments": policy.auto_approve_departments,
                "requester_departments": policy.requester_departments,
            },
            request=http_request,
        )
    return policy


def _refuse_items_without_approver_group(policy: Policy) -> None:
    names = list(
        CatalogItem.objects.filter(policy=policy, approver_group__isnull=True)
        .order_by("name")
        .values_list("name", flat=True)[:4]
    )
    if names:
        shown = ", ".join(names[:3]) + (" and more" if len(names) > 3 else "")
        raise ApprovalError(
            f"Items under this policy have no approver group ({shown}): give each one an "
            "approver group before adding a stage for it.",
            field="stages",
        )


# --- submitting ---------------------------------------------------------------------------


def holds_access(*, subject_id: str, item: CatalogItem) -> bool:
    if item.kind == ItemKind.GROUP:
        return GroupMembership.objects.filter(group_id=item.group_id, user_id=subject_id).exists()
    return AppAssignment.objects.filter(app_id=item.app_id, user_id=subject_id).exists()


def _resolve_tiers(wanted: list[tuple[AccessRequest, ApproverKind]]) -> list[list[str]]:
    """Who may decide, for each (request, tier): the tier's people whose Okta account can act,
    less the requester and the subject. At most three queries, however many requests."""
    group_ids = {
        req.item.approver_group_id
        for req, tier in wanted
        if tier == ApproverKind.APPROVER_GROUP and req.item and req.item.approver_group_id
    }
    members: dict[str, list[str]] = defaultdict(list)
    for group_id, user_id in GroupMembership.objects.filter(group_id__in=group_ids).values_list(
        "group_id", "user_id"
    ):
        members[group_id].append(user_id)
    admins: list[str] = []
    if any(tier == ApproverKind.ADMINS for _, tier in wanted):
        admins = list(
            GroupMembership.objects.filter(group__name=settings.GATEHOUSE_ADMIN_GROUP).values_list(
                "user_id", flat=True
            )
        )
    candidates: list[list[str]] = []
    for req, tier in wanted:
        item = req.item
        if tier == ApproverKind.MANAGER:
            manager = req.subject.manager_id if req.subject else ""
            candidates.append([manager] if manager else [])
        elif tier == ApproverKind.ADMINS:
            candidates.append(admins)
        # Not a catalog item (an identity action): nobody owns it, the stage falls to admins.
        elif item is None:
            candidates.append([])
        elif tier == ApproverKind.OWNERS:
            candidates.append(list(item.owners))
        else:
            candidates.append(members.get(item.approver_group_id or "", []))
    everyone = {okta_id for ids in candidates for okta_id in ids}
    active = set(
        OktaUser.objects.filter(id__in=everyone, status__in=ACTING_STATUSES).values_list(
            "id", flat=True
        )
        if everyone
        else []
    )
    return [
        sorted((set(ids) & active) - {req.subject_id, req.requester.okta_id})
        for (req, _), ids in zip(wanted, candidates, strict=True)
    ]


def _enter_stages(entries: list[tuple[AccessRequest, int]], actor_label: str, out: _Writes) -> None:
    """Resolve who decides each request's new stage, falling to the next tier when nobody is
    left; the caller saves ``current_stage``."""
    tiers = [ApproverKind(req.stages[stage - 1]["approvers"]) for req, stage in entries]
    approvers = _resolve_tiers([(req, tier) for (req, _), tier in zip(entries, tiers, strict=True)])
    while again := [i for i, ids in enumerate(approvers) if not ids and tiers[i] in FALLBACK_TIER]:
        for i in again:
            tiers[i] = FALLBACK_TIER[tiers[i]]
        resolved = _resolve_tiers([(entries[i][0], tiers[i]) for i in again])
        for i, ids in zip(again, resolved, strict=True):
            approvers[i] = ids
    RequestApprover.objects.bulk_create(
        RequestApprover(request=req, stage=stage, okta_id=okta_id, tier=tier)
        for (req, stage), tier, ids in zip(entries, tiers, approvers, strict=True)
        for okta_id in ids
    )
    for (req, stage), tier, ids in zip(entries, tiers, approvers, strict=True):
        req.current_stage = stage
        wanted = ApproverKind(req.stages[stage - 1]["approvers"])
        rule = StageRule(req.stages[stage - 1]["rule"])
        text = f"Stage {stage} of {req.stage_count}: waiting for {tier.label.lower()}"
        if rule == StageRule.ALL and len(ids) > 1:
            text += f" (all {len(ids)} must approve)"
        if tier != wanted:
            text += f"; nobody eligible among {wanted.label.lower()}, so it went to the next tier"
        if not ids:
            out.event(
                req,
                "routed",
                text + ". Nobody can approve it: an admin must step in.",
                actor_label,
                problem=True,
            )
        else:
            out.event(req, "routed", text + ".", actor_label)
            out.notes.append(notifications.to_stage_approvers(req.pk, stage))


def access_request_submit(
    *,
    requester: User,
    item: CatalogItem,
    subject_id: str | None = None,
    reason: str = "",
    duration_days: int | None = None,
    extends_grant: Grant | None = None,
    http_request: HttpRequest | None = None,
) -> AccessRequest:
    """Ask for ``item`` for ``subject_id`` (default: the requester)."""
    if not requester.okta_id:
        raise ApprovalError("Your account is not linked to an Okta user, so you cannot ask.")
    subject_id = subject_id or requester.okta_id
    subject = OktaUser.objects.filter(pk=subject_id).first()
    if subject is None:
        raise ApprovalError("That person is not in the directory.", field="subject")
    if subject_id != requester.okta_id and subject.manager_id != requester.okta_id:
        raise ApprovalError(
            "You can ask only for yourself or for your direct reports.", field="subject"
        )
    if subject.status not in GRANTABLE_SUBJECT_STATUSES:
        raise ApprovalError(
            f"{subject} cannot get new access: their Okta account is {subject.status.lower()}.",
            field="subject",
        )
    item = CatalogItem.objects.select_related("policy", "group", "app").get(pk=item.pk)
    if not item.published:
        raise ApprovalError("This item is not in the catalog.")
    if item.not_requestable_reason:
        raise ApprovalError(item.not_requestable_reason)
    policy = item.policy
    if not policy.may_request(department=subject.department):
        raise ApprovalError(
            f"Policy “{policy.name}” does not let people in {subject.department or 'no department'} ask for this."
        )
    reason = reason.strip()
    if item.reason_required and not reason:
        raise ApprovalError("Please say why you need this access.", field="reason")
    if duration_days is not None and duration_days < 1:
        raise ApprovalError("The duration must be at least one day.", field="duration_days")
    if item.max_duration_days is not None:
        if duration_days is None:
            raise ApprovalError(
                f"Permanent access is not offered: choose at most {item.max_duration_days} days.",
                field="duration_days",
            )
        if duration_days > item.max_duration_days:
            raise ApprovalError(
                f"The longest you can ask for is {item.max_duration_days} days.",
                field="duration_days",
            )
    if extends_grant is not None:
        if (
            extends_grant.subject_id != subject_id
            or extends_grant.item_id != item.pk
            or extends_grant.status != GrantStatus.ACTIVE
        ):
            raise ApprovalError("That access cannot be extended.")
    elif holds_access(subject_id=subject_id, item=item):
        who = "You already have" if subject_id == requester.okta_id else f"{subject} already has"
        raise ApprovalError(f"{who} {item.name}: there is nothing to ask for.")
    existing = AccessRequest.objects.filter(
        subject_id=subject_id, item=item, status__in=OPEN_STATUSES
    ).first()
    if existing is not None:
        raise ApprovalError(
            f"There is already an open request #{existing.pk} for {item.name} "
            f"({existing.get_status_display().lower()})."
        )
    stages = policy.stage_snapshot()
    if not stages:
        raise ApprovalError(f"Policy “{policy.name}” has no stages; ask an admin to fix it.")
    now = timezone.now()
    req = AccessRequest(
        item=item,
        requester=requester,
        subject=subject,
        subject_label=str(subject),
        reason=reason,
        duration_days=duration_days,
        policy_name=policy.name,
        stages=stages,
        extends_grant=extends_grant,
        created_at=now,
        pending_until=now + timedelta(days=settings.APPROVALS_PENDING_EXPIRY_DAYS),
    )
    auto_reason = policy.auto_approve_reason(risk=item.risk, department=subject.department)
    with transaction.atomic():
        try:
            with transaction.atomic():
                req.save()
        except IntegrityError as exc:  # a concurrent twin won the race
            raise ApprovalError(f"There is already an open request for {item.name}.") from exc
        on_behalf = "" if subject_id == requester.okta_id else f" on behalf of {subject}"
        _event(req, "submitted", f"Asked for {item.name}{on_behalf}.", _label(requester))
        _audit_request(
            req,
            "access_request.submitted",
            requester,
            http_request,
            reason=reason,
            duration_days=duration_days,
            policy=policy.name,
        )
        if auto_reason:
            req.auto_approved_reason = auto_reason
            req.save(update_fields=["auto_approved_reason"])
            _event(req, "auto_approved", auto_reason, "Gatehouse")
            out = _Writes()
            _approve_finals([(req, _operation_specs(req, "system"))], "system", out, auto_reason)
            out.flush(http_request)
        else:
            _route_first_stage(req, requester, http_request)
    return req


def approval_request_open(
    *,
    requester: User,
    kind: str,
    policy: Policy,
    title: str,
    subject_id: str | None = None,
    subject_label: str = "",
    reason: str = "",
    http_request: HttpRequest | None = None,
) -> AccessRequest:
    """Ask for approval of something that is not a catalog item (``kind`` names the
    fulfilment registered for it): the same stages, approvers, decisions, timeline, emails,
    expiry and inbox as access requests. Call it inside the caller's transaction."""
    fulfilment_for(kind)  # refuse an unknown kind before writing anything
    stages = policy.stage_snapshot()
    if not stages:
        raise ApprovalError(f"Policy “{policy.name}” has no stages; ask an admin to fix it.")
    now = timezone.now()
    with transaction.atomic():
        req = AccessRequest.objects.create(
            kind=kind,
            title=title[:255],
            requester=requester,
            subject_id=subject_id,
            subject_label=subject_label,
            reason=reason.strip(),
            policy_name=policy.name,
            stages=stages,
            created_at=now,
            pending_until=now + timedelta(days=settings.APPROVALS_PENDING_EXPIRY_DAYS),
        )
        _event(req, "submitted", f"Asked for “{req.label}”.", _label(requester))
        _audit_request(req, "access_request.submitted", requester, http_request, policy=policy.name)
        _route_first_stage(req, requester, http_request)
    return req


def _route_first_stage(
    req: AccessRequest, requester: User, http_request: HttpRequest | None
) -> None:
    out = _Writes()
    _enter_stages([(req, 1)], _label(requester), out)
    req.save(update_fields=["current_stage"])
    out.flush(http_request)


# --- deciding -----------------------------------------------------------------------------


def _operation_for(req_or_grant_item: CatalogItem, subject_id: str, add: bool) -> OperationSpec:
    item = req_or_grant_item
    if item.kind == ItemKind.GROUP:
        kind = OperationKind.GROUP_MEMBER_ADD if add else OperationKind.GROUP_MEMBER_REMOVE
        return kind, {"group_id": str(item.group_id), "user_id": subject_id}
    kind = OperationKind.APP_USER_ASSIGN if add else OperationKind.APP_USER_UNASSIGN
    return kind, {"app_id": str(item.app_id), "user_id": subject_id}


def _mark_fulfilling(request_ids: list[int]) -> None:
    AccessRequest.objects.filter(pk__in=request_ids, status=RequestStatus.APPROVED).update(
        status=RequestStatus.FULFILLING
    )


def _operation_specs(req: AccessRequest, actor: Any) -> list[OperationSpec]:
    """The Okta operations a final approval writes, checked; ApprovalError refuses it."""
    specs: list[OperationSpec]
    if req.kind:
        specs = fulfilment_for(req.kind).operations(req, actor)
    else:
        assert req.item is not None and req.subject_id is not None
        specs = [_operation_for(req.item, req.subject_id, add=True)]
    for kind, params in specs:
        try:
            operation_validate(kind, params)
        except OperationInvalid as exc:
            raise ApprovalError(f"Gatehouse cannot send this change to Okta: {exc}") from exc
    return specs


def _approve_finals(
    approved: list[tuple[AccessRequest, list[OperationSpec]]],
    actor: Any,
    out: _Writes,
    why: str = "",
) -> None:
    """Final approvals: APPROVED and the outbox operations (one insert), in the caller's
    transaction; each operation is queued after commit."""
    now = timezone.now()
    ids = [req.pk for req, _ in approved]
    AccessRequest.objects.filter(pk__in=ids).update(status=RequestStatus.APPROVED, decided_at=now)
    items: list[dict[str, Any]] = []
    for req, specs in approved:
        req.status = RequestStatus.APPROVED
        req.decided_at = now
        items += [{"kind": k, "params": p, "correlation": req.correlation} for k, p in specs]
        out.event(req, "approved", "Approved. Sending the change to Okta.", "Gatehouse")
        out.audit_request(req, "access_request.approved", actor, why=why)
        out.notes.append(notifications.to_requester(req.pk, "decided"))
    operations_enqueue(items=items, actor=actor, callback_task=CALLBACK_TASK)
    transaction.on_commit(partial(_mark_fulfilling, ids))


def _load_for_decision(request_id: int) -> AccessRequest:
    req = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("item", "requester", "subject")
        .filter(pk=request_id)
        .first()
    )
    if req is None:
        raise Http404("No such request")
    return req


def _decidable(req: AccessRequest | None, actor: User) -> None:
    """Refuse a request that is gone, no longer pending, or the actor's own."""
    if req is None:
        raise Http404("No such request")
    if not req.is_pending:
        raise ApprovalError(
            f"Request #{req.pk} is no longer pending: it is {req.get_status_display().lower()}. "
            "Nothing was changed."
        )
    if req.is_party(actor):
        raise ApprovalError("Nobody can approve or deny their own request.")


def _step(req: AccessRequest, outcome: str, waiting: set[int]) -> str:
    """What a decision does to its request: deny, wait (for others), advance or approve it."""
    if outcome == DecisionOutcome.DENY:
        return "deny"
    if req.pk in waiting:
        return "wait"
    return "advance" if req.current_stage < req.stage_count else "approve"


def _decide_many(
    *,
    actor: User,
    request_ids: list[int],
    outcome: str,
    comment: str,
    http_request: HttpRequest | None,
) -> tuple[list[AccessRequest], dict[int, ApprovalError | Http404]]:
    """Decide distinct ``request_ids`` in the caller's transaction; returns the decided
    requests and the refusals (nothing is written for a refused request).

    Every row is locked by one query in id order (so two deciders never deadlock, and a
    decision racing this one waits and then finds the request decided), each request is
    checked against the rules, and each table gets one insert for the whole batch: decisions,
    timeline events, audit events (chained in order), operations; one email task after commit.
    """
    refused: dict[int, ApprovalError | Http404] = {}
    locked = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("item", "requester", "subject")
        .filter(pk__in=request_ids)
        .order_by("pk")
    )
    by_id = {req.pk: req for req in locked}
    candidates: list[AccessRequest] = []
    for pk in request_ids:
        try:
            _decidable(by_id.get(pk), actor)
        except (ApprovalError, Http404) as exc:
            refused[pk] = exc
        else:
            candidates.append(by_id[pk])
    # The slots through which the actor may decide now: the one rule (may_decide_q), locked.
    slots = {
        slot.request_id: slot
        for slot in RequestApprover.objects.select_for_update(of=("self",))
        .filter(
            may_decide_q(actor, to_request="request__", to_slot=""),
            request__in=[req.pk for req in candidates],
        )
        .order_by("pk")
    }
    used: set[int] = set()
    if len(slots) < len(candidates):  # say why the others may not be decided
        used = set(
            RequestApprover.objects.filter(
                request__in=[req.pk for req in candidates if req.pk not in slots],
                okta_id=actor.okta_id or "-",
                stage=F("request__current_stage"),
                decided_at__isnull=False,
            ).values_list("request_id", flat=True)
        )
    accepted: list[tuple[AccessRequest, RequestApprover]] = []
    for req in candidates:
        slot = slots.get(req.pk)
        if slot is not None:
            accepted.append((req, slot))
        elif req.pk in used:
            refused[req.pk] = ApprovalError("You have already decided this stage.")
        else:
            refused[req.pk] = ApprovalError(
                "You are not an approver for this stage of the request."
            )

    waiting: set[int] = set()  # "all must approve" stages still missing someone else
    everyone = [
        (req, slot)
        for req, slot in accepted
        if outcome == DecisionOutcome.APPROVE and req.current_stage_def()["rule"] == StageRule.ALL
    ]
    if everyone:
        undecided = set(
            RequestApprover.objects.filter(
                request__in=[req.pk for req, _ in everyone], decided_at__isnull=True
            )
            .exclude(pk__in=[slot.pk for _, slot in everyone])
            .values_list("request_id", "stage")
        )
        waiting = {req.pk for req, _ in everyone if (req.pk, req.current_stage) in undecided}

    # What each decision does to its request, fixed now: advancing changes the stage.
    steps = {req.pk: _step(req, outcome, waiting) for req, _ in accepted}
    plain: list[tuple[AccessRequest, RequestApprover]] = []
    hooked: list[tuple[AccessRequest, RequestApprover]] = []
    for req, slot in accepted:
        if steps[req.pk] == "approve" and req.kind:
            hooked.append((req, slot))
            continue
        if steps[req.pk] == "approve":
            try:
                _operation_specs(req, actor)  # refuse it now, not the whole batch later
            except ApprovalError as exc:
                refused[req.pk] = exc
                continue
        plain.append((req, slot))
    record = partial(
        _record_decisions,
        actor=actor,
        outcome=outcome,
        comment=comment,
        http_request=http_request,
        steps=steps,
    )
    if plain:
        record(plain)
    # The fulfilment hook of an action may refuse it after writing (its audit event): one by
    # one, each in a savepoint, so a refusal takes back only its own request's writes.
    for req, slot in hooked:
        try:
            with transaction.atomic():
                record([(req, slot)])
        except ApprovalError as exc:
            refused[req.pk] = exc
    return [req for req, _ in accepted if req.pk not in refused], refused


def _record_decisions(
    accepted: list[tuple[AccessRequest, RequestApprover]],
    *,
    actor: User,
    outcome: str,
    comment: str,
    http_request: HttpRequest | None,
    steps: dict[int, str],
) -> None:
    """Write the decisions of requests already checked, then deny, advance or approve each
    as ``steps`` says."""
    now = timezone.now()
    Decision.objects.bulk_create(
        Decision(
            request=req, stage=req.current_stage, decider=actor, outcome=outcome, comment=comment
        )
        for req, _ in accepted
    )
    RequestApprover.objects.filter(pk__in=[slot.pk for _, slot in accepted]).update(decided_at=now)
    out = _Writes()
    verb = "Approved" if outcome == DecisionOutcome.APPROVE else "Denied"
    said = f": “{comment}”" if comment else "."
    for req, _ in accepted:
        out.event(req, "decided", f"{verb} stage {req.current_stage}{said}", _label(actor))
        out.audit_request(
            req,
            "access_request.decided",
            actor,
            outcome_decided=outcome,
            stage=req.current_stage,
            comment=comment,
        )
    denied = [req for req, _ in accepted if steps[req.pk] == "deny"]
    if denied:
        AccessRequest.objects.filter(pk__in=[req.pk for req in denied]).update(
            status=RequestStatus.DENIED, decided_at=now, finished_at=now
        )
        for req in denied:
            req.status = RequestStatus.DENIED
            req.decided_at = req.finished_at = now
            out.audit_request(req, "access_request.denied", actor)
            out.notes.append(notifications.to_requester(req.pk, "decided"))
    advancing = [req for req, _ in accepted if steps[req.pk] == "advance"]
    if advancing:
        _enter_stages([(req, req.current_stage + 1) for req in advancing], _label(actor), out)
        AccessRequest.objects.bulk_update(advancing, ["current_stage"])
        out.notes += [notifications.to_requester(req.pk, "decided") for req in advancing]
    # The decisions come first in the audit trail, then what the approvals write.
    out.flush_audit(http_request)
    finals = [req for req, _ in accepted if steps[req.pk] == "approve"]
    if finals:
        _approve_finals([(req, _operation_specs(req, actor)) for req in finals], actor, out)
    out.flush(http_request)


def access_request_decide(
    *,
    actor: User,
    request_id: int,
    outcome: str,
    comment: str = "",
    http_request: HttpRequest | None = None,
) -> AccessRequest:
    """Record one approver's decision, then advance the chain or finish the request."""
    if outcome not in DecisionOutcome.values:
        raise ApprovalError("Choose approve or deny.")
    with transaction.atomic():
        decided, refused = _decide_many(
            actor=actor,
            request_ids=[request_id],
            outcome=outcome,
            comment=comment.strip(),
            http_request=http_request,
        )
        if refused:
            raise refused[request_id]
    return decided[0]


@dataclass
class BulkResult:
    decided: list[int]
    refused: dict[int, str]


# Requests decided per transaction: bounds how long the rows and the audit chain stay locked.
BULK_BATCH = 100


def access_requests_decide_bulk(
    *,
    actor: User,
    request_ids: Iterable[int],
    outcome: str,
    comment: str = "",
    http_request: HttpRequest | None = None,
) -> BulkResult:
    """Decide several requests with the same rules as one by one, at a fraction of the cost
    (see ``_decide_many``); a refused request is reported with its reason and stops no other."""
    ids = list(dict.fromkeys(request_ids))
    if outcome not in DecisionOutcome.values:
        return BulkResult(decided=[], refused=dict.fromkeys(ids, "Choose approve or deny."))
    refused: dict[int, ApprovalError | Http404] = {}
    for start in range(0, len(ids), BULK_BATCH):
        with transaction.atomic():
            _, batch_refused = _decide_many(
                actor=actor,
                request_ids=ids[start : start + BULK_BATCH],
                outcome=outcome,
                comment=comment.strip(),
                http_request=http_request,
            )
        refused.update(batch_refused)
    return BulkResult(
        decided=[pk for pk in ids if pk not in refused],
        refused={
            pk: exc.message if isinstance(exc, ApprovalError) else "No such request."
            for pk, exc in refused.items()
        },
    )


def access_request_cancel(
    *, actor: User, request_id: int, http_request: HttpRequest | None = None
) -> AccessRequest:
    with transaction.atomic():
        req = _load_for_decision(request_id)
        if not (req.requester_id == actor.pk or req.subject_id == actor.okta_id):
            raise Http404("No such request")
        if not req.can_be_cancelled_by(actor) and req.is_pending:
            raise ApprovalError("Only the person who asked can cancel this request.")
        if not req.is_pending:
            raise ApprovalError(
                f"Request #{req.pk} can no longer be cancelled: it is {req.get_status_display().lower()}."
            )
        req.status = RequestStatus.CANCELLED
        req.finished_at = timezone.now()
        req.save(update_fields=["status", "finished_at"])
        _event(req, "cancelled", "Cancelled.", _label(actor))
        _audit_request(req, "access_request.cancelled", actor, http_request)
    return req


def access_requests_expire(*, now: datetime | None = None) -> int:
    """Expire pending requests nobody decided in time (beat task). Returns how many."""
    now = now or timezone.now()
    due = list(
        AccessRequest.objects.filter(status=RequestStatus.PENDING, pending_until__lte=now)
        .order_by("pending_until")
        .values_list("pk", flat=True)[:1000]
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            # When it happened, not ``now``, which may be a time approvals_run_due pretends.
            claimed = AccessRequest.objects.filter(pk=pk, status=RequestStatus.PENDING).update(
                status=RequestStatus.EXPIRED, finished_at=timezone.now()
            )
            if not claimed:
                continue
            req = AccessRequest.objects.select_related("item").get(pk=pk)
            days = settings.APPROVALS_PENDING_EXPIRY_DAYS
            _event(req, "expired", f"Expired: nobody decided within {days} days.", "Gatehouse")
            _audit_request(req, "access_request.expired", "system")
            notifications.send_after_commit(notifications.to_requester(pk, "expired"))
            expired += 1
    return expired


# --- fulfilment: following Okta operations -------------------------------------------------


def _okta_message(op: Operation) -> str:
    summary = op.error_summary or "Okta did not say why."
    parts = [p for p in (op.error_code, f"HTTP {op.okta_status}" if op.okta_status else "") if p]
    ref = f" [Okta request id {op.okta_request_id}]" if op.okta_request_id else ""
    return f"{summary}" + (f" ({', '.join(parts)})" if parts else "") + ref


def operation_finished(*, operation_id: int) -> None:
    """Callback for a final Operation: move its request or grant along. Safe to run twice."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None or not op.is_final:
        return
    prefix, _, key = op.correlation.partition(":")
    if prefix == "request" and key.isdigit():
        _request_operation_finished(op, int(key))
    elif prefix == "grant" and key.isdigit():
        _grant_operation_finished(op, int(key))


def _counted(req: AccessRequest, ops: list[Operation]) -> dict[Any, Operation]:
    """The operations whose outcome is the request's. A retried catalog request has older
    failed rows, so the newest row per kind counts; an action may hold several operations of
    one kind (a new user's app assignments), and all of them count."""
    return {o.pk if req.kind else o.kind: o for o in ops}


def _enqueue_followups(req: AccessRequest, ops: list[Operation]) -> bool:
    """Operations the fulfilment adds after one of its operations succeeded; True if any."""
    hook = fulfilment_for(req.kind)
    added = False
    for done in [o for o in ops if o.status == OperationStatus.SUCCEEDED]:
        for kind, params in hook.followups(req, done):
            operation_enqueue(
                kind=kind,
                params=params,
                actor="system",
                correlation=req.correlation,
                callback_task=CALLBACK_TASK,
            )
            added = True
    return added


def _request_operation_finished(op: Operation, request_id: int) -> None:
    with transaction.atomic():
        req = (
            AccessRequest.objects.select_for_update(of=("self",))
            .select_related("item")
            .filter(pk=request_id)
            .first()
        )
        if req is None or req.status not in (RequestStatus.APPROVED, RequestStatus.FULFILLING):
            return
        ops = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
        if req.kind and _enqueue_followups(req, ops):
            return
        latest = _counted(req, ops)
        if any(not o.is_final for o in latest.values()):
            return
        failed = [o for o in latest.values() if o.status == OperationStatus.FAILED]
        now = timezone.now()
        if failed:
            message = _okta_message(failed[0])
            req.status = RequestStatus.FAILED
            req.failure_message = message
            req.finished_at = now
            req.save(update_fields=["status", "failure_message", "finished_at"])
            _event(req, "okta_failed", f"Okta refused the change: {message}", "Okta", problem=True)
            _audit_request(
                req,
                "access_request.failed",
                "okta",
                outcome="failure",
                operation_id=failed[0].pk,
                okta_status=failed[0].okta_status,
                error_code=failed[0].error_code,
                error_summary=failed[0].error_summary,
                okta_request_id=failed[0].okta_request_id,
            )
            notifications.send_after_commit(
                notifications.to_requester(req.pk, "failed"),
                notifications.to_admins_of_failure(req.pk),
            )
            return
        req.status = RequestStatus.COMPLETED
        req.finished_at = now
        req.failure_message = ""
        req.save(update_fields=["status", "finished_at", "failure_message"])
        ref = ", ".join(o.okta_request_id for o in latest.values() if o.okta_request_id)
        if req.kind:
            _event(
                req,
                "okta_done",
                f"Okta made the change{f' (request id {ref})' if ref else ''}.",
                "Okta",
            )
            _audit_request(
                req,
                "access_request.completed",
                "okta",
                operation_ids=[o.pk for o in latest.values()],
                okta_request_id=ref,
            )
            notifications.send_after_commit(notifications.to_requester(req.pk, "completed"))
            return
        assert req.item is not None and req.subject_id is not None
        expires = now + timedelta(days=req.duration_days) if req.duration_days else None
        grant, _ = Grant.objects.get_or_create(
            request=req,
            defaults={"item": req.item, "subject_id": req.subject_id, "expires_at": expires},
        )
        if req.extends_grant_id:
            Grant.objects.filter(pk=req.extends_grant_id, status=GrantStatus.ACTIVE).update(
                status=GrantStatus.SUPERSEDED
            )
        until = f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else " (permanent)"
        _event(
            req,
            "okta_done",
            f"Okta made the change{f' (request id {ref})' if ref else ''}. Access granted{until}.",
            "Okta",
        )
        _audit_request(
            req,
            "access_request.completed",
            "okta",
            operation_ids=[o.pk for o in latest.values()],
            okta_request_id=ref,
            grant_id=grant.pk,
            expires_at=expires.isoformat() if expires else None,
        )
        notifications.send_after_commit(notifications.to_requester(req.pk, "completed"))


RECONCILE_BATCH = 1000  # requests, and grants, looked at per run (beat runs it every minute)


def _unfinished_operations(prefix: str) -> QuerySet[Operation]:
    """The outer row's operations still pending or running (its correlation is prefix + pk)."""
    return Operation.objects.filter(
        correlation=Concat(Value(prefix), Cast(OuterRef("pk"), CharField())),
        status__in=(OperationStatus.PENDING, OperationStatus.RUNNING),
    )


def _operations_by_correlation(correlations: list[str]) -> defaultdict[str, list[Operation]]:
    """Every operation of these correlations, oldest first, in one query."""
    found: defaultdict[str, list[Operation]] = defaultdict(list)
    if correlations:
        for op in Operation.objects.filter(correlation__in=correlations).order_by("id"):
            found[op.correlation].append(op)
    return found


def _lost_callback(latest: list[Operation], cutoff: datetime) -> Operation | None:
    """The operation to finish with when ``latest`` (the operations that count for one
    correlation) are all final and were final before ``cutoff``, so their callback should have
    arrived by now."""
    if not latest or any(not o.is_final for o in latest):
        return None  # the okta reaper looks after operations still pending or running
    if any(o.finished_at and o.finished_at > cutoff for o in latest):
        return None  # its callback may still be on its way
    return max(latest, key=lambda o: o.pk)


def access_requests_reconcile(*, grace: timedelta | None = None) -> int:
    """Finish requests and grant removals whose operations are all final but whose callback
    never arrived (a worker killed between recording Okta's answer and running the callback,
    a message lost with the broker); returns how many were moved on. Safe to run any time
    (beat runs it)."""
    grace = grace or timedelta(seconds=getattr(settings, "OKTA_OPERATION_LOST_GRACE", 120))
    cutoff = timezone.now() - grace
    # Requests and grants with an operation still pending or running are the reaper's, and
    # left out in SQL: a backlog of thousands being drained is neither read nor in the way of
    # the few whose callback was lost. Their operations are then read in one query.
    stuck = (
        AccessRequest.objects.filter(
            status__in=(RequestStatus.APPROVED, RequestStatus.FULFILLING), decided_at__lte=cutoff
        )
        .exclude(Exists(_unfinished_operations("request:")))
        .only("pk", "kind")
        .order_by("decided_at", "pk")[:RECONCILE_BATCH]
    )
    requests = list(stuck)
    ops = _operations_by_correlation([req.correlation for req in requests])
    moved = 0
    for req in requests:
        op = _lost_callback(list(_counted(req, ops[req.correlation]).values()), cutoff)
        if op is not None:
            _request_operation_finished(op, req.pk)
            moved += 1
    # A grant only leaves ACTIVE together with its removal operation (one transaction), so a
    # lost callback leaves it REVOKING. A removal retried by an admin is a newer operation of
    # the same correlation: the latest one decides.
    revoking = list(
        Grant.objects.filter(status=GrantStatus.REVOKING)
        .exclude(Exists(_unfinished_operations("grant:")))
        .order_by("pk")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    ops = _operations_by_correlation([f"grant:{pk}" for pk in revoking])
    for grant_id in revoking:
        op = _lost_callback(ops[f"grant:{grant_id}"][-1:], cutoff)
        if op is not None:
            _grant_operation_finished(op, grant_id)
            moved += 1
    if moved:
        logger.info("finished %d requests or grant removals whose callback was lost", moved)
    return moved


def access_request_retry(
    *, actor: User, request_id: int, http_request: HttpRequest | None = None
) -> AccessRequest:
    """Admins: send a failed request's failed operations to Okta again."""
    if not actor.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such request")
    with transaction.atomic():
        req = _load_for_decision(request_id)
        if req.status != RequestStatus.FAILED:
            raise ApprovalError(
                f"Only failed requests can be retried; #{req.pk} is {req.get_status_display().lower()}."
            )
        ops = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
        latest = _counted(req, ops)
        failed = [o for o in latest.values() if o.status == OperationStatus.FAILED]
        for op in failed:
            operation_retry(operation_id=op.pk, actor=actor)
        req.status = RequestStatus.FULFILLING
        req.failure_message = ""
        req.finished_at = None
        req.save(update_fields=["status", "failure_message", "finished_at"])
        _event(req, "retried", "Retrying the change in Okta.", _label(actor))
        _audit_request(req, "access_request.retried", actor, http_request)
    return req


# --- grants --------------------------------------------------------------------------------


def _grant_start_revoke(
    grant: Grant,
    *,
    actor: Any,
    reason: str,
    note: str = "",
    http_request: HttpRequest | None = None,
) -> bool:
    """Claim an active grant for removal and queue its Okta operation; False if it was no longer
    active. ``note`` is what the person who ended it wrote, shown to the holder."""
    claimed = Grant.objects.filter(pk=grant.pk, status=GrantStatus.ACTIVE).update(
        status=GrantStatus.REVOKING, revoke_reason=reason, revoke_note=note
    )
    if not claimed:
        return False
    kind, params = _operation_for(grant.item, grant.subject_id, add=False)
    operation_enqueue(
        kind=kind,
        params=params,
        actor=actor,
        correlation=grant.correlation,
        callback_task=CALLBACK_TASK,
    )
    text = {
        "expired": "Access period ended: removing the access in Okta.",
        "relinquished": "Gave up this access: removing it in Okta.",
        "ended_by_admin": f"An admin ended this access ({note}): removing it in Okta.",
    }.get(reason, f"Removing the access in Okta ({reason}).")
    actor_label = actor if isinstance(actor, str) else _label(actor)
    _event(grant.request, "revoking", text, actor_label)
    audit_record(
        action="grant.revoke_started",
        actor=actor,
        target_type="grant",
        target_id=str(grant.pk),
        target_label=f"{grant.item.name} for {grant.request.subject_label}",
        detail={
            "reason": reason,
            "request_id": grant.request_id,
            "subject": grant.subject_id,
            **({"note": note} if note else {}),
        },
        request=http_request,
    )
    return True


GRANT_NOT_ACTIVE = {
    GrantStatus.REVOKING: "Gatehouse is already removing this access in Okta.",
    GrantStatus.REVOKED: "This access has already been removed.",
    GrantStatus.SUPERSEDED: "This access was extended: end the grant that replaced it.",
    GrantStatus.REVOKE_FAILED: (
        "Okta refused to remove this access earlier: retry the removal from the operation queue."
    ),
}


def _lock_grant(grant_id: int) -> Grant:
    """The grant, locked for this transaction (with its item and request), or 404."""
    grant = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("item", "request")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None:
        raise Http404("No such grant")
    return grant


def grant_end(
    *, actor: User, grant_id: int, reason: str, http_request: HttpRequest | None = None
) -> Grant:
    """Admins: end someone's grant now, through the same removal as expiry. The holder is told
    by email, with the reason, once Okta has removed the access."""
    if not actor.has_perm("approvals.manage_grants"):
        raise Http404("No such grant")
    reason = reason.strip()
    if not reason:
        raise ApprovalError("Say why this access ends: the holder is told.", field="reason")
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.status != GrantStatus.ACTIVE:
            raise ApprovalError(GRANT_NOT_ACTIVE[GrantStatus(grant.status)])
        _grant_start_revoke(
            grant, actor=actor, reason="ended_by_admin", note=reason, http_request=http_request
        )
    grant.status, grant.revoke_reason, grant.revoke_note = (
        GrantStatus.REVOKING,
        "ended_by_admin",
        reason,
    )
    return grant


def grants_revoke_due(*, now: datetime | None = None) -> int:
    """Beat task: start revoking every grant whose time is up, whatever sync says."""
    due = list(Grant.objects.due(now).values_list("pk", flat=True)[:1000])
    started = 0
    for pk in due:
        try:
            with transaction.atomic():
                grant = Grant.objects.select_related("item", "request").get(pk=pk)
                started += _grant_start_revoke(grant, actor="system", reason="expired")
        except ApprovalError:
            logger.exception("grant %s could not be revoked", pk)
    return started


def _grant_operation_finished(op: Operation, grant_id: int) -> None:
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("item", "request")
            .filter(pk=grant_id)
            .first()
        )
        if grant is None or grant.status != GrantStatus.REVOKING:
            return
        target = f"{grant.item.name} for {grant.request.subject_label}"
        if op.status == OperationStatus.FAILED:
            grant.status = GrantStatus.REVOKE_FAILED
            grant.failure_message = _okta_message(op)
            grant.save(update_fields=["status", "failure_message"])
            _event(
                grant.request,
                "revoke_failed",
                f"Okta refused to remove the access: {grant.failure_message}",
                "Okta",
                problem=True,
            )
            outcome = "failure"
        else:
            grant.status = GrantStatus.REVOKED
            grant.revoked_at = timezone.now()
            grant.save(update_fields=["status", "revoked_at"])
            _event(grant.request, "revoked", "Access removed in Okta.", "Okta")
            outcome = "success"
            notifications.send_after_commit(notifications.to_grant_holder(grant.pk, "revoked"))
        audit_record(
            action="grant.revoked" if outcome == "success" else "grant.revoke_failed",
            actor="okta",
            target_type="grant",
            target_id=str(grant.pk),
            target_label=target,
            outcome=outcome,
            detail={
                "reason": grant.revoke_reason,
                "operation_id": op.pk,
                "okta_status": op.okta_status,
                "error_code": op.error_code,
                "error_summary": op.error_summary,
                "okta_request_id": op.okta_request_id,
            },
        )


def grant_revoke_retry(
    *, actor: User, grant_id: int, http_request: HttpRequest | None = None
) -> Grant:
    """Admins: send a failed removal to Okta again."""
    if not actor.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such grant")
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.status != GrantStatus.REVOKE_FAILED:
            raise ApprovalError(
                f"Only a failed removal can be retried; this one is {grant.get_status_display().lower()}."
            )
        failed = (
            Operation.objects.filter(correlation=grant.correlation, status=OperationStatus.FAILED)
            .order_by("-id")
            .first()
        )
        if failed is None:
            raise ApprovalError("There is no failed Okta operation to retry.")
        operation_retry(operation_id=failed.pk, actor=actor)
        grant.status = GrantStatus.REVOKING
        grant.failure_message = ""
        grant.save(update_fields=["status", "failure_message"])
        _event(grant.request, "retried", "Retrying the removal in Okta.", _label(actor))
        audit_record(
            action="grant.revoke_retried",
            actor=actor,
            target_type="grant",
            target_id=str(grant.pk),
            target_label=f"{grant.item.name} for {grant.request.subject_label}",
            detail={"operation_id": failed.pk},
            request=http_request,
        )
    return grant


def grants_remind_expiring(*, now: datetime | None = None) -> int:
    """Beat task: email holders once, ``APPROVALS_REMINDER_DAYS`` before their grant ends."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.APPROVALS_REMINDER_DAYS)
    due = list(
        Grant.objects.filter(
            status=GrantStatus.ACTIVE,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
        ).values_list("pk", flat=True)[:1000]
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            if Grant.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                notifications.send_after_commit(notifications.to_grant_holder(pk, "reminder"))
                sent += 1
    return sent


def access_relinquish(
    *,
    actor: User,
    kind: str,
    resource_id: str,
    http_request: HttpRequest | None = None,
) -> None:
    """Give up one's own group membership or direct app assignment (an Okta operation)."""
    if not actor.okta_id:
        raise Http404("No such access")
    with transaction.atomic():
        grant = (
            Grant.objects.select_related("item", "request")
            .filter(
                subject_id=actor.okta_id,
                status=GrantStatus.ACTIVE,
                **(
                    {"item__group_id": resource_id}
                    if kind == ItemKind.GROUP
                    else {"item__app_id": resource_id}
                ),
            )
            .first()
        )
        if grant is not None:
            _grant_start_revoke(grant, actor=actor, reason="relinquished")
            return
        if kind == ItemKind.GROUP:
            membership = (
                GroupMembership.objects.select_related("group")
                .filter(user_id=actor.okta_id, group_id=resource_id)
                .first()
            )
            if membership is None:
                raise Http404("No such access")
            if membership.group.type != GroupType.OKTA_GROUP:
                raise ApprovalError(not_requestable_reason(membership.group))
            label = membership.group.name
            op_kind = OperationKind.GROUP_MEMBER_REMOVE
            params = {"group_id": resource_id, "user_id": actor.okta_id}
        else:
            assignment = (
                AppAssignment.objects.select_related("app")
                .filter(user_id=actor.okta_id, app_id=resource_id)
                .first()
            )
            if assignment is None:
                raise Http404("No such access")
            if assignment.scope != "USER":
                raise ApprovalError(
                    f"You have {assignment.app.label} through a group: leave that group instead."
                )
            label = assignment.app.label
            op_kind = OperationKind.APP_USER_UNASSIGN
            params = {"app_id": resource_id, "user_id": actor.okta_id}
        pending = Operation.objects.filter(
            correlation=f"relinquish:{actor.okta_id}:{resource_id}",
            status__in=(OperationStatus.PENDING, OperationStatus.RUNNING),
        ).exists()
        if pending:
            raise ApprovalError(f"Gatehouse is already removing {label}.")
        operation_enqueue(
            kind=op_kind,
            params=params,
            actor=actor,
            correlation=f"relinquish:{actor.okta_id}:{resource_id}",
        )
        audit_record(
            action="access.relinquished",
            actor=actor,
            target_type="group" if kind == ItemKind.GROUP else "app",
            target_id=resource_id,
            target_label=label,
            detail={"subject": actor.okta_id},
            request=http_request,
        )
