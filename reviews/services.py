"""Access reviews: start a campaign (snapshot the mirror), decide items, revoke through the
okta outbox, end a campaign by its end rule. Every change writes its audit event in its
transaction; Okta is only ever called by the outbox's worker, after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from approvals.models import CatalogItem, Grant, GrantStatus, ItemKind
from audit.chain import stream
from audit.services import audit_record, audit_record_many
from core.errors import ServiceError
from okta.models import (
    AppAssignment,
    GroupMembership,
    OktaApp,
    OktaGroup,
    OktaUser,
    Operation,
    OperationKind,
    OperationStatus,
)
from okta.operations import OperationInvalid, operations_enqueue
from reviews import notifications
from reviews.models import (
    INACTIVE_STATUSES,
    Campaign,
    CampaignStatus,
    Decision,
    EndRule,
    OktaOutcome,
    ResourceKind,
    ReviewerRule,
    ReviewItem,
)

logger = logging.getLogger(__name__)

CALLBACK_TASK = "reviews.operation_finished"
SNAPSHOT_BATCH = 2000
BULK_LIMIT = 200
END_RULE_BY = "end rule"


class ReviewError(ServiceError):
    """A refusal of the access reviews, with a plain message (``field``: the form field)."""


# Who may do what (accounts/roles.py ROLE_PERMISSIONS grants them; superusers hold every one).
MANAGE_PERMISSION = (
    "reviews.manage_campaign"  # start and end campaigns; review what falls to admins
)
VIEW_PERMISSION = "reviews.view_campaign"  # campaigns, their reports and evidence exports


def items_for_reviewer(user: User) -> QuerySet[ReviewItem]:
    """Items this person reviews: named for them, or (admins) fallen to the admins."""
    mine = Q(reviewer_okta_id=user.okta_id) if user.okta_id else Q(pk__in=[])
    if user.has_perm(MANAGE_PERMISSION):
        mine |= Q(reviewer_okta_id="")
    return ReviewItem.objects.filter(mine)


def _label(user: Any) -> str:
    return user if isinstance(user, str) else str(getattr(user, "username", "") or user)


# --- campaigns ---------------------------------------------------------------------------------


def campaign_create(
    *,
    actor: User,
    name: str,
    catalog_item_ids: Sequence[int] = (),
    group_names: Sequence[str] = (),
    app_names: Sequence[str] = (),
    reviewer_rule: str,
    reviewer_okta_id: str = "",
    end_rule: str = EndRule.KEEP,
    starts_at: datetime | None = None,
    due_at: datetime,
    http_request: HttpRequest | None = None,
) -> Campaign:
    """Admins: a campaign over catalog items and/or groups and apps named exactly. It starts
    at once (snapshotting the mirror) when ``starts_at`` is not in the future, otherwise when
    the periodic ``campaigns_run_due`` reaches it."""
    if not actor.has_perm(MANAGE_PERMISSION):
        raise Http404("No such page")
    now = timezone.now()
    starts_at = starts_at or now
    name = name.strip()
    groups = sorted({n.strip() for n in group_names if n.strip()})
    apps = sorted({n.strip() for n in app_names if n.strip()})
    item_ids = sorted(set(catalog_item_ids))
    if not name:
        raise ReviewError("Give the campaign a name.", field="name")
    if not (item_ids or groups or apps):
        raise ReviewError("Choose at least one catalog item, group or app.", field="items")
    if reviewer_rule not in ReviewerRule.values:
        raise ReviewError("Choose who reviews.", field="reviewer_rule")
    if reviewer_rule == ReviewerRule.PERSON and not reviewer_okta_id:
        raise ReviewError("Name the person who reviews.", field="reviewer")
    if end_rule not in EndRule.values:
        raise ReviewError("Choose what happens to undecided access.", field="end_rule")
    if due_at <= max(starts_at, now):
        raise ReviewError("The due date must be after the start.", field="due_at")
    found = set(CatalogItem.objects.filter(pk__in=item_ids).values_list("pk", flat=True))
    if found != set(item_ids):
        raise ReviewError("One of the chosen catalog items no longer exists.", field="items")
    known_groups = set(OktaGroup.objects.filter(name__in=groups).values_list("name", flat=True))
    known_apps = set(OktaApp.objects.filter(label__in=apps).values_list("label", flat=True))
    unknown = sorted(set(groups) - known_groups) + sorted(set(apps) - known_apps)
    if unknown:
        raise ReviewError(
            f"Not in the directory: {', '.join(unknown)}. Names must match exactly.",
            field="groups",
        )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            catalog_item_ids=item_ids,
            group_names=groups,
            app_names=apps,
            reviewer_rule=reviewer_rule,
            reviewer_okta_id=reviewer_okta_id if reviewer_rule == ReviewerRule.PERSON else "",
            end_rule=end_rule,
            starts_at=starts_at,
            due_at=due_at,
            created_by=_label(actor),
        )
        audit_record(
            action="review_campaign.created",
            actor=actor,
            target_type="review_campaign",
            target_id=str(campaign.pk),
            target_label=campaign.name,
            detail={
                "catalog_item_ids": item_ids,
                "group_names": groups,
                "app_names": apps,
                "reviewer_rule": reviewer_rule,
                "reviewer_okta_id": campaign.reviewer_okta_id,
                "end_rule": end_rule,
                "starts_at": starts_at,
                "due_at": due_at,
            },
            request=http_request,
        )
        if starts_at <= now:
            campaign_start(actor=actor, campaign_id=campaign.pk, http_request=http_request)
    campaign.refresh_from_db()
    return campaign


def campaign_start(
    *, actor: Any, campaign_id: int, http_request: HttpRequest | None = None
) -> int | None:
    """Snapshot every (person, group/app) pair in the campaign's scope into review items, in
    batches, streaming the mirror; returns how many. A second call for a started campaign
    does nothing (returns None)."""
    with transaction.atomic():
        claimed = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.ACTIVE, started_at=timezone.now()
        )
        if not claimed:
            return None
        campaign = Campaign.objects.get(pk=campaign_id)
        count = 0
        for batch in _batched(_snapshot(campaign), SNAPSHOT_BATCH):
            ReviewItem.objects.bulk_create(batch)
            count += len(batch)
        Campaign.objects.filter(pk=campaign_id).update(item_count=count)
        audit_record(
            action="review_campaign.started",
            actor=actor,
            target_type="review_campaign",
            target_id=str(campaign.pk),
            target_label=campaign.name,
            detail={"items": count},
            request=http_request,
        )
        notifications.send_after_commit(notifications.to_reviewers(campaign.pk, "started"))
    return count


def _batched(rows: Iterable[ReviewItem], size: int) -> Iterator[list[ReviewItem]]:
    batch: list[ReviewItem] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class _Catalogued:
    owners: tuple[str, ...]
    risk: str


def _scope(campaign: Campaign) -> tuple[set[str], set[str]]:
    """The Okta ids of the groups and apps the campaign covers."""
    items = CatalogItem.objects.filter(pk__in=campaign.catalog_item_ids)
    group_ids = {i.group_id for i in items if i.kind == ItemKind.GROUP and i.group_id}
    app_ids = {i.app_id for i in items if i.kind == ItemKind.APP and i.app_id}
    if campaign.group_names:
        group_ids |= set(
            OktaGroup.objects.filter(name__in=campaign.group_names).values_list("pk", flat=True)
        )
    if campaign.app_names:
        app_ids |= set(
            OktaApp.objects.filter(label__in=campaign.app_names).values_list("pk", flat=True)
        )
    return group_ids, app_ids


def _person_label(display: str, first: str, last: str, login: str) -> str:
    return display or f"{first} {last}".strip() or login


_PERSON = (
    "user__status",
    "user__display_name",
    "user__first_name",
    "user__last_name",
    "user__login",
    "user__department",
    "user__manager_id",
    "user__last_login",
)


def _snapshot(campaign: Campaign) -> Iterator[ReviewItem]:
    """The campaign's review items, built from the mirror a chunk at a time (constant memory
    apart from the catalog and the active grants of the resources in scope)."""
    group_ids, app_ids = _scope(campaign)
    catalog: dict[str, _Catalogued] = {}
    catalog_item_pks: list[int] = []
    for item in CatalogItem.objects.filter(Q(group_id__in=group_ids) | Q(app_id__in=app_ids)):
        catalog[item.resource_id] = _Catalogued(tuple(item.owners or ()), item.risk)
        catalog_item_pks.append(item.pk)
    grants: dict[tuple[str, str], tuple[int, datetime, datetime | None]] = {}
    for grant_id, group_id, app_id, subject_id, granted_at, expires_at in Grant.objects.filter(
        item_id__in=catalog_item_pks, status=GrantStatus.ACTIVE
    ).values_list("pk", "item__group_id", "item__app_id", "subject_id", "granted_at", "expires_at"):
        grants[(group_id or app_id, subject_id)] = (grant_id, granted_at, expires_at)

    def build(kind: str, resource_id: str, label: str, extra: dict[str, str], person: Any) -> Any:
        status, display, first, last, login, department, manager_id, last_login, subject_id = person
        catalogued = catalog.get(resource_id)
        grant = grants.get((resource_id, subject_id))
        risk = (2 if status in INACTIVE_STATUSES else 0) + (0 if grant else 1)
        if catalogued and catalogued.risk == "HIGH":
            risk += 1
        return ReviewItem(
            campaign_id=campaign.pk,
            kind=kind,
            resource_id=resource_id,
            resource_label=label,
            subject_id=subject_id,
            subject_label=_person_label(display, first, last, login),
            subject_login=login,
            subject_status=status,
            subject_department=department,
            subject_manager_id=manager_id,
            subject_last_login=last_login,
            grant_id=grant[0] if grant else None,
            granted_at=grant[1] if grant else None,
            expires_at=grant[2] if grant else None,
            item_risk=catalogued.risk if catalogued else "",
            risk=risk,
            reviewer_okta_id=_reviewer(campaign, subject_id, manager_id, catalogued),
            **extra,
        )

    if group_ids:
        memberships = GroupMembership.objects.filter(group_id__in=group_ids).values_list(
            "group_id", "group__name", "group__type", *_PERSON, "user_id"
        )
        for group_id, name, group_type, *person in stream(memberships, chunk_size=SNAPSHOT_BATCH):
            yield build(ResourceKind.GROUP, group_id, name, {"group_type": group_type}, person)
    if app_ids:
        assignments = AppAssignment.objects.filter(app_id__in=app_ids).values_list(
            "app_id", "app__label", "scope", *_PERSON, "user_id"
        )
        for app_id, label, scope, *person in stream(assignments, chunk_size=SNAPSHOT_BATCH):
            yield build(ResourceKind.APP, app_id, label, {"assignment_scope": scope}, person)


def _reviewer(
    campaign: Campaign, subject_id: str, manager_id: str, catalogued: _Catalogued | None
) -> str:
    """Who reviews the pair under the campaign's rule; "" (the admins) when the rule names
    nobody, or only the person whose access it is."""
    if campaign.reviewer_rule == ReviewerRule.MANAGER:
        candidates: tuple[str, ...] = (manager_id,)
    elif campaign.reviewer_rule == ReviewerRule.OWNERS:
        candidates = catalogued.owners if catalogued else ()
    else:
        candidates = (campaign.reviewer_okta_id,)
    return next((c for c in candidates if c and c != subject_id), "")


# --- decisions -------------------------------------------------------------------------------


@dataclass
class BulkResult:
    decided: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _refusal(item: ReviewItem, actor: Any, decision: str, *, closing: bool) -> str:
    if not closing and item.campaign.status != CampaignStatus.ACTIVE:
        return "This campaign is not in review: decisions are closed."
    if not closing and item.is_subject(getattr(actor, "okta_id", None)):
        return "You cannot review your own access: another reviewer must decide it."
    if item.decision:
        return f"Already decided: {item.get_decision_display().lower()} by {item.decided_by}."
    if decision == Decision.REVOKE:
        return item.not_revocable_reason()
    return ""


def _operation(item: ReviewItem) -> dict[str, Any]:
    if item.kind == ResourceKind.GROUP:
        kind, key = OperationKind.GROUP_MEMBER_REMOVE, "group_id"
    else:
        kind, key = OperationKind.APP_USER_UNASSIGN, "app_id"
    return {
        "kind": kind,
        "params": {key: item.resource_id, "user_id": item.subject_id},
        "correlation": item.correlation,
    }


def _decide(
    items: Sequence[ReviewItem],
    *,
    actor: Any,
    decision: str,
    note: str,
    closing: bool = False,
    http_request: HttpRequest | None = None,
) -> BulkResult:
    """Decide locked items: refusals are reported, the rest recorded, revocations queued in
    the outbox (one bulk insert), one audit event per decided item."""
    result = BulkResult()
    accepted: list[ReviewItem] = []
    for item in items:
        why = _refusal(item, actor, decision, closing=closing)
        if why:
            result.refused[item.pk] = why
        else:
            accepted.append(item)
    if not accepted:
        return result
    now = timezone.now()
    decided_by = END_RULE_BY if closing else _label(actor)
    revoking = [item for item in accepted if decision == Decision.REVOKE]
    if revoking:
        try:
            ops = operations_enqueue(
                items=[_operation(item) for item in revoking],
                actor=actor,
                callback_task=CALLBACK_TASK,
            )
        except OperationInvalid as exc:
            raise ReviewError(f"Gatehouse cannot send this change to Okta: {exc}") from exc
        for item, op in zip(revoking, ops, strict=True):
            item.operation_id = op.pk
            item.okta_outcome = OktaOutcome.PENDING
    for item in accepted:
        item.decision, item.decided_by, item.decided_at, item.note = decision, decided_by, now, note
    ReviewItem.objects.bulk_update(
        accepted, ["decision", "decided_by", "decided_at", "note", "operation_id", "okta_outcome"]
    )
    audit_record_many(
        events=[
            {
                "action": "review_item.decided",
                "actor": actor,
                "target_type": "review_item",
                "target_id": str(item.pk),
                "target_label": f"{item.resource_label} · {item.subject_label}",
                "detail": {
                    "campaign_id": item.campaign_id,
                    "decision": decision,
                    "subject_id": item.subject_id,
                    "resource_id": item.resource_id,
                    "kind": item.kind,
                    "by_end_rule": closing,
                    **({"note": note} if note else {}),
                    **({"operation_id": item.operation_id} if item.operation_id else {}),
                },
            }
            for item in accepted
        ],
        request=http_request,
    )
    result.decided = [item.pk for item in accepted]
    return result


def _clean_decision(decision: str) -> str:
    if decision not in (Decision.KEEP, Decision.REVOKE):
        raise ReviewError("Choose keep or revoke.", field="decision")
    return decision


def _item_locked_for(reviewer: User, item_id: int) -> ReviewItem:
    """One of the reviewer's items, locked for this transaction; anyone else's is a 404."""
    item = (
        items_for_reviewer(reviewer)
        .select_for_update(of=("self",))
        .select_related("campaign")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("No such review item")
    return item


def review_item_decide(
    *,
    actor: User,
    item_id: int,
    decision: str,
    note: str = "",
    http_request: HttpRequest | None = None,
) -> ReviewItem:
    """A reviewer keeps or revokes one item; a revocation is queued in the outbox. Items the
    actor does not review are a 404; their own access is refused."""
    decision = _clean_decision(decision)
    with transaction.atomic():
        item = _item_locked_for(actor, item_id)
        result = _decide(
            [item], actor=actor, decision=decision, note=note.strip(), http_request=http_request
        )
        if result.refused:
            raise ReviewError(result.refused[item.pk])
    return item


def review_item_delegate(
    *,
    actor: User,
    item_id: int,
    to_okta_id: str,
    note: str = "",
    http_request: HttpRequest | None = None,
) -> ReviewItem:
    """Hand an undecided item to another reviewer, recorded on the item and in the trail. Not
    to the person whose access it is, nor to someone who cannot sign in."""
    with transaction.atomic():
        item = _item_locked_for(actor, item_id)
        if item.campaign.status != CampaignStatus.ACTIVE:
            raise ReviewError("This campaign is not in review: decisions are closed.")
        if item.decision:
            raise ReviewError("Already decided: there is nothing to hand over.")
        person = OktaUser.objects.filter(pk=to_okta_id).first()
        if person is None or person.status in INACTIVE_STATUSES:
            raise ReviewError("Hand it to someone in the directory who can sign in.", field="to")
        if person.pk == item.subject_id:
            raise ReviewError("Nobody reviews their own access: choose someone else.", field="to")
        if person.pk == item.reviewer_okta_id:
            raise ReviewError(f"{person} already reviews this item.", field="to")
        previous = item.reviewer_okta_id
        item.reviewer_okta_id = person.pk
        item.delegated_by, item.delegated_at = _label(actor), timezone.now()
        item.save(update_fields=["reviewer_okta_id", "delegated_by", "delegated_at"])
        audit_record(
            action="review_item.delegated",
            actor=actor,
            target_type="review_item",
            target_id=str(item.pk),
            target_label=str(item),
            detail={
                "campaign_id": item.campaign_id,
                "from_reviewer": previous or "admins",
                "to_reviewer": person.pk,
                **({"note": note.strip()} if note.strip() else {}),
            },
            request=http_request,
        )
        item.delegate_label = str(person)  # type: ignore[attr-defined]
    return item


def review_items_decide_bulk(
    *,
    actor: User,
    item_ids: Sequence[int],
    decision: str,
    note: str = "",
    http_request: HttpRequest | None = None,
) -> BulkResult:
    """Keep or revoke many items at once; each refusal is reported, the rest are decided.
    Ids the actor does not review are reported as not found, like any unknown id."""
    decision = _clean_decision(decision)
    wanted = sorted(set(item_ids))[:BULK_LIMIT]
    with transaction.atomic():
        items = list(
            items_for_reviewer(actor)
            .select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk__in=wanted)
            .order_by("pk")
        )
        result = _decide(
            items, actor=actor, decision=decision, note=note.strip(), http_request=http_request
        )
    found = {item.pk for item in items}
    for pk in wanted:
        if pk not in found:
            result.refused[pk] = "No such item to review."
    return result


def _okta_message(op: Operation) -> str:
    summary = op.error_summary or "Okta did not say why."
    parts = [p for p in (op.error_code, f"HTTP {op.okta_status}" if op.okta_status else "") if p]
    ref = f" [Okta request id {op.okta_request_id}]" if op.okta_request_id else ""
    return summary + (f" ({', '.join(parts)})" if parts else "") + ref


def review_operation_finished(*, operation_id: int) -> None:
    """Callback for a final operation: record Okta's outcome on its item. Safe to run twice."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None or not op.is_final:
        return
    prefix, _, key = op.correlation.partition(":")
    if prefix != "review_item" or not key.isdigit():
        return
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=int(key), operation_id=op.pk, okta_outcome=OktaOutcome.PENDING)
            .first()
        )
        if item is None:
            return
        succeeded = op.status == OperationStatus.SUCCEEDED
        item.okta_outcome = OktaOutcome.SUCCEEDED if succeeded else OktaOutcome.FAILED
        request_ref = f" [Okta request id {op.okta_request_id}]" if op.okta_request_id else ""
        item.okta_message = (
            f"Removed in Okta{request_ref}." if succeeded else f"Okta refused: {_okta_message(op)}"
        )
        item.save(update_fields=["okta_outcome", "okta_message"])
        if succeeded and item.grant_id:
            _grant_ended_by_review(item, op)
        audit_record(
            action="review_item.revoked" if succeeded else "review_item.revoke_failed",
            actor="okta",
            target_type="review_item",
            target_id=str(item.pk),
            target_label=str(item),
            outcome="success" if succeeded else "failure",
            detail={
                "campaign_id": item.campaign_id,
                "operation_id": op.pk,
                "okta_status": op.okta_status,
                "error_code": op.error_code,
                "error_summary": op.error_summary,
                "okta_request_id": op.okta_request_id,
            },
        )


def _grant_ended_by_review(item: ReviewItem, op: Operation) -> None:
    """The access Okta just removed was a Gatehouse grant: the grant ends with it, so the
    holder's page and the grants list stop showing it and its expiry removes nothing later."""
    if item.grant_id is None:
        return
    ended = Grant.objects.filter(pk=item.grant_id, status=GrantStatus.ACTIVE).update(
        status=GrantStatus.REVOKED,
        revoke_reason="access_review",
        revoke_note=f"Revoked in the access review {item.campaign.name}.",
        revoked_at=timezone.now(),
    )
    if ended:
        audit_record(
            action="grant.revoked",
            actor="okta",
            target_type="grant",
            target_id=str(item.grant_id),
            target_label=str(item),
            detail={
                "reason": "access_review",
                "review_item_id": item.pk,
                "campaign_id": item.campaign_id,
                "operation_id": op.pk,
                "okta_request_id": op.okta_request_id,
            },
        )


# --- ending ----------------------------------------------------------------------------------

_NOT_REVOCABLE = Q(kind=ResourceKind.GROUP, group_type__in=["APP_GROUP", "BUILT_IN"]) | Q(
    kind=ResourceKind.APP, assignment_scope="GROUP"
)


@dataclass(frozen=True)
class EndSummary:
    kept: int
    revoked: int
    not_revocable: int


def campaign_end(
    *, actor: Any, campaign_id: int, http_request: HttpRequest | None = None
) -> EndSummary | None:
    """Close a campaign: undecided items follow its end rule (kept, or revoked through the
    outbox; those Okta cannot change stay undecided and say why). None if it was not in
    review (ended already, or never started)."""
    if not isinstance(actor, str) and not actor.has_perm(MANAGE_PERMISSION):
        raise Http404("No such campaign")
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.ACTIVE:
            return None
        undecided = ReviewItem.objects.filter(campaign=campaign, decision=Decision.UNDECIDED)
        kept = revoked = not_revocable = 0
        if campaign.end_rule == EndRule.KEEP:
            kept = undecided.update(
                decision=Decision.KEEP,
                decided_by=END_RULE_BY,
                decided_at=now,
                note="Undecided when the campaign ended: kept by the campaign's end rule.",
            )
        else:
            not_revocable = undecided.filter(_NOT_REVOCABLE).update(
                okta_message="Undecided when the campaign ended; not revoked: Okta does not "
                "let Gatehouse remove this access."
            )
            while True:
                batch = list(
                    undecided.exclude(_NOT_REVOCABLE)
                    .select_for_update()
                    .select_related("campaign")
                    .order_by("pk")[:BULK_LIMIT]
                )
                if not batch:
                    break
                done = _decide(
                    batch,
                    actor="system",
                    decision=Decision.REVOKE,
                    note="Undecided when the campaign ended: revoked by the campaign's end rule.",
                    closing=True,
                )
                revoked += len(done.decided)
                if done.refused:  # cannot happen for undecided, revocable items; never loop
                    logger.error("campaign %s: end rule refused %r", campaign_id, done.refused)
                    break
        campaign.status, campaign.ended_at = CampaignStatus.ENDED, now
        campaign.save(update_fields=["status", "ended_at"])
        summary = EndSummary(kept=kept, revoked=revoked, not_revocable=not_revocable)
        audit_record(
            action="review_campaign.ended",
            actor=actor,
            target_type="review_campaign",
            target_id=str(campaign.pk),
            target_label=campaign.name,
            detail={
                "end_rule": campaign.end_rule,
                "kept_by_end_rule": kept,
                "revoked_by_end_rule": revoked,
                "not_revocable": not_revocable,
            },
            request=http_request,
        )
    return summary


def campaigns_run_due(*, now: datetime | None = None) -> int:
    """Beat: start scheduled campaigns whose start has come and end those past their due date.
    Returns how many it started or ended."""
    now = now or timezone.now()
    moved = 0
    for pk in Campaign.objects.filter(
        status=CampaignStatus.SCHEDULED, starts_at__lte=now
    ).values_list("pk", flat=True)[:100]:
        moved += campaign_start(actor="system", campaign_id=pk) is not None
    for pk in Campaign.objects.filter(status=CampaignStatus.ACTIVE, due_at__lte=now).values_list(
        "pk", flat=True
    )[:100]:
        moved += campaign_end(actor="system", campaign_id=pk) is not None
    return moved


REMINDER_BEFORE_DUE = timedelta(days=3)


def campaigns_remind(*, now: datetime | None = None) -> int:
    """Beat: once per campaign, when its due date is less than three days away, email the
    reviewers who still have undecided items. Returns how many campaigns it reminded."""
    now = now or timezone.now()
    due = Campaign.objects.filter(
        status=CampaignStatus.ACTIVE,
        reminded_at__isnull=True,
        due_at__gt=now,
        due_at__lte=now + REMINDER_BEFORE_DUE,
    ).values_list("pk", "name")[:100]
    reminded = 0
    for pk, name in due:
        with transaction.atomic():
            if not Campaign.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                continue  # another run got there first
            audit_record(
                action="review_campaign.reminded",
                actor="system",
                target_type="review_campaign",
                target_id=str(pk),
                target_label=name,
            )
            notifications.send_after_commit(notifications.to_reviewers(pk, "reminder"))
        reminded += 1
    return reminded


# A revocation's outbox callback can be lost (a worker killed between recording Okta's answer
# and sending it); after this long, the periodic duty finishes the item from the operation.
LOST_CALLBACK_GRACE = timedelta(minutes=10)


def review_items_reconcile(*, now: datetime | None = None) -> int:
    """Beat: record Okta's outcome on items whose operation is final but whose callback never
    arrived. Returns how many it finished."""
    cutoff = (now or timezone.now()) - LOST_CALLBACK_GRACE
    waiting = [
        pk
        for pk in ReviewItem.objects.filter(okta_outcome=OktaOutcome.PENDING).values_list(
            "operation_id", flat=True
        )[:1000]
        if pk is not None
    ]
    final = list(
        Operation.objects.filter(
            pk__in=waiting,
            status__in=[OperationStatus.SUCCEEDED, OperationStatus.FAILED],
            finished_at__lt=cutoff,
        ).values_list("pk", flat=True)
    )
    for operation_id in final:
        review_operation_finished(operation_id=operation_id)
    if final:
        logger.info("finished %d review revocations whose callback was lost", len(final))
    return len(final)
