"""Deciding requests, one or in bulk, and routing them through their stages: who decides
each stage, falling to the next tier when nobody is left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals import notifications
from approvals.fulfilment import OperationSpec, fulfilment_for
from approvals.models import (
    FALLBACK_TIER,
    AccessRequest,
    ApproverKind,
    Decision,
    DecisionOutcome,
    RequestApprover,
    RequestStatus,
    StageRule,
    may_decide_q,
)
from approvals.services.common import (
    ACTING_STATUSES,
    CALLBACK_TASK,
    ApprovalError,
    Writes,
    actor_name,
    operation_for,
)
from okta.models import (
    GroupMembership,
    OktaUser,
)
from okta.operations import (
    OperationInvalid,
    operation_validate,
    operations_enqueue,
)


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


def _enter_stages(entries: list[tuple[AccessRequest, int]], actor_label: str, out: Writes) -> None:
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


def route_first_stage(
    req: AccessRequest, requester: User, http_request: HttpRequest | None
) -> None:
    out = Writes()
    _enter_stages([(req, 1)], actor_name(requester), out)
    req.save(update_fields=["current_stage"])
    out.flush(http_request)


def _mark_fulfilling(request_ids: list[int]) -> None:
    AccessRequest.objects.filter(pk__in=request_ids, status=RequestStatus.APPROVED).update(
        status=RequestStatus.FULFILLING
    )


def operation_specs(req: AccessRequest, actor: Any) -> list[OperationSpec]:
    """The Okta operations a final approval writes, checked; ApprovalError refuses it."""
    specs: list[OperationSpec]
    if req.kind:
        specs = fulfilment_for(req.kind).operations(req, actor)
    else:
        assert req.item is not None and req.subject_id is not None
        specs = [operation_for(req.item, req.subject_id, add=True)]
    for kind, params in specs:
        try:
            operation_validate(kind, params)
        except OperationInvalid as exc:
            raise ApprovalError(f"Gatehouse cannot send this change to Okta: {exc}") from exc
    return specs


def approve_finals(
    approved: list[tuple[AccessRequest, list[OperationSpec]]],
    actor: Any,
    out: Writes,
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


def load_for_decision(request_id: int) -> AccessRequest:
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
                operation_specs(req, actor)  # refuse it now, not the whole batch later
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
    out = Writes()
    verb = "Approved" if outcome == DecisionOutcome.APPROVE else "Denied"
    said = f": “{comment}”" if comment else "."
    for req, _ in accepted:
        out.event(req, "decided", f"{verb} stage {req.current_stage}{said}", actor_name(actor))
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
        _enter_stages([(req, req.current_stage + 1) for req in advancing], actor_name(actor), out)
        AccessRequest.objects.bulk_update(advancing, ["current_stage"])
        out.notes += [notifications.to_requester(req.pk, "decided") for req in advancing]
    # The decisions come first in the audit trail, then what the approvals write.
    out.flush_audit(http_request)
    finals = [req for req, _ in accepted if steps[req.pk] == "approve"]
    if finals:
        approve_finals([(req, operation_specs(req, actor)) for req in finals], actor, out)
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
