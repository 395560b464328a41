"""Catalog items and approval policies: admins publish Okta groups and apps and say who
approves them.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.models import User
from approvals.models import (
    ApproverKind,
    CatalogItem,
    ItemKind,
    Policy,
    PolicyStage,
    StageRule,
    not_requestable_reason,
)
from approvals.services.common import ApprovalError
from audit.services import audit_record
from okta.models import (
    GroupType,
    OktaApp,
    OktaGroup,
    OktaUser,
)

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
