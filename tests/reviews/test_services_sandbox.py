"""Access reviews against the Okta sandbox over real HTTP.

The mirror comes from a full sync of the acme seed (maya reports to priya; sam is a Gatehouse
admin; maya is in "Engineering - Frontend" and assigned Notion directly); the okta outbox's own
executor calls the sandbox, and our callback (what ``reviews.operation_finished`` runs) records
Okta's outcome on the item.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from approvals.models import CatalogItem, ItemKind, Policy
from audit.models import AuditEvent
from okta import operations
from okta.actors import SystemActor
from okta.client import OktaClient
from okta.models import GroupMembership, OktaGroup, OktaUser, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from okta.sync.runs import sync_run_execute, sync_run_start
from reviews import services
from reviews.models import Campaign, CampaignStatus, Decision, OktaOutcome, ReviewItem
from reviews.services import ReviewError
from tests.approvals.conftest import ensure_default_policies
from tests.world import account, okta_id

MAYA, PRIYA, SAM = okta_id("maya"), okta_id("priya"), okta_id("sam")
FRONTEND = "Engineering - Frontend"


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    """Sync fetches on threads (see tests/approvals/test_fulfilment_sandbox.py)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def mirror() -> None:
    ensure_default_policies()
    run = sync_run_start(actor=SystemActor("test"), kind="full")
    sync_run_execute(run_id=run.pk)


def catalog_item(group_name: str) -> CatalogItem:
    group = OktaGroup.objects.get(pk=acme_group_id(group_name))
    return CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=group,
        name=group.name,
        policy=Policy.objects.get(name="Manager approval"),
        default_duration_days=7,
        max_duration_days=30,
        published=True,
    )


def campaign(admin: User, **fields: Any) -> Campaign:
    fields.setdefault("reviewer_rule", "manager")
    fields.setdefault("due_at", timezone.now() + timedelta(days=14))
    return services.campaign_create(actor=admin, name="Q4 review", **fields)


def run_operation(item: ReviewItem, okta: OktaClient, capture: Any) -> Operation:
    """What the okta worker does with the item's operation, then what our callback does."""
    item.refresh_from_db()
    assert item.operation_id is not None
    with capture(execute=True):
        operations.operation_execute(item.operation_id, client=okta)
    services.review_operation_finished(operation_id=item.operation_id)
    item.refresh_from_db()
    return Operation.objects.get(pk=item.operation_id)


def groups_in_okta(okta: OktaClient, user_id: str) -> set[str]:
    return {g.name for g in okta.list_user_groups(user_id)}


@pytest.mark.django_db
def test_manager_keeps_one_and_revokes_one_and_the_revoke_reaches_okta(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mirror()
    sam, priya = account("sam"), account("priya")
    item = catalog_item(FRONTEND)
    review = campaign(sam, catalog_item_ids=[item.pk], app_names=["Notion"])
    assert review.status == CampaignStatus.ACTIVE
    members = GroupMembership.objects.filter(group_id=item.group_id).count()
    assert review.item_count == members + ReviewItem.objects.filter(kind="APP").count()
    frontend = ReviewItem.objects.get(campaign=review, subject_id=MAYA, resource_id=item.group_id)
    notion = ReviewItem.objects.get(
        campaign=review, subject_id=MAYA, resource_id=acme_app_id("Notion")
    )
    assert frontend.reviewer_okta_id == notion.reviewer_okta_id == PRIYA
    assert frontend.is_outside_gatehouse and frontend.subject_department == "Engineering"

    services.review_item_decide(actor=priya, item_id=notion.pk, decision="keep", note="uses it")
    services.review_item_decide(actor=priya, item_id=frontend.pk, decision="revoke")
    notion.refresh_from_db()
    assert notion.decision == Decision.KEEP and notion.operation_id is None
    assert notion.decided_by == priya.username and notion.note == "uses it"

    op = run_operation(frontend, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.SUCCEEDED and op.okta_request_id
    assert no_broker == [("reviews.operation_finished", op.pk)]
    assert frontend.decision == Decision.REVOKE
    assert frontend.okta_outcome == OktaOutcome.SUCCEEDED
    assert op.okta_request_id in frontend.okta_message
    assert FRONTEND not in groups_in_okta(okta, MAYA)
    decided = AuditEvent.objects.filter(action="review_item.decided")
    assert set(decided.values_list("target_id", flat=True)) == {str(notion.pk), str(frontend.pk)}
    assert AuditEvent.objects.filter(action="review_item.revoked", target_id=str(frontend.pk))
    assert AuditEvent.objects.filter(action="review_campaign.started", target_id=str(review.pk))


@pytest.mark.django_db
def test_okta_refusal_is_recorded_on_the_item(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mirror()
    sam, priya = account("sam"), account("priya")
    review = campaign(sam, group_names=[FRONTEND])
    frontend = ReviewItem.objects.get(campaign=review, subject_id=MAYA)
    services.review_item_decide(actor=priya, item_id=frontend.pk, decision="revoke")
    okta_sandbox.set_faults(refuse_code="E0000006", path_prefix="/api/v1/groups", method="DELETE")
    op = run_operation(frontend, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.FAILED
    assert frontend.okta_outcome == OktaOutcome.FAILED
    assert "E0000006" in frontend.okta_message
    assert FRONTEND in groups_in_okta(okta, MAYA)
    assert AuditEvent.objects.filter(
        action="review_item.revoke_failed", target_id=str(frontend.pk), outcome="failure"
    )


@pytest.mark.django_db
def test_reviewer_cannot_review_their_own_access(okta_sandbox: Any, queued: list[int]) -> None:
    mirror()
    sam = account("sam")
    # sam reviews IT by name; his own IT membership falls to the admins, and he is one.
    review = campaign(sam, group_names=["IT"], reviewer_rule="person", reviewer_okta_id=SAM)
    own = ReviewItem.objects.get(campaign=review, subject_id=SAM)
    assert own.reviewer_okta_id == ""
    assert services.items_for_reviewer(sam).filter(pk=own.pk).exists()
    before = AuditEvent.objects.count()
    with pytest.raises(ReviewError, match="cannot review your own access"):
        services.review_item_decide(actor=sam, item_id=own.pk, decision="keep")
    own.refresh_from_db()
    assert own.decision == Decision.UNDECIDED
    assert AuditEvent.objects.count() == before
    result = services.review_items_decide_bulk(actor=sam, item_ids=[own.pk], decision="revoke")
    assert result.decided == [] and "own access" in result.refused[own.pk]
    assert queued == []


@pytest.mark.django_db
def test_app_group_membership_refuses_revocation(okta_sandbox: Any, queued: list[int]) -> None:
    mirror()
    sam = account("sam")
    review = campaign(
        sam,
        group_names=["Salesforce - Sales Reps"],
        reviewer_rule="person",
        reviewer_okta_id=PRIYA,
    )
    priya = account("priya")
    item = ReviewItem.objects.filter(campaign=review).first()
    assert item is not None and item.group_type == "APP_GROUP"
    with pytest.raises(ReviewError, match="APP_GROUP"):
        services.review_item_decide(actor=priya, item_id=item.pk, decision="revoke")
    assert queued == [] and not Operation.objects.exists()
    services.review_item_decide(actor=priya, item_id=item.pk, decision="keep")


@pytest.mark.django_db
def test_undecided_items_follow_the_revoke_end_rule(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mirror()
    sam = account("sam")
    review = campaign(sam, app_names=["Notion"], end_rule="revoke")
    notion = ReviewItem.objects.get(campaign=review, subject_id=MAYA)
    others = ReviewItem.objects.filter(campaign=review).exclude(pk=notion.pk)
    kept = others.first()
    assert kept is not None
    reviewer = account_of(kept) if kept.reviewer_okta_id else sam
    services.review_item_decide(actor=reviewer, item_id=kept.pk, decision="keep")
    # The due date passes: beat's duty ends the campaign by its rule.
    assert services.campaigns_run_due(now=review.due_at + timedelta(minutes=1)) == 1
    review.refresh_from_db()
    assert review.status == CampaignStatus.ENDED
    notion.refresh_from_db()
    assert notion.decision == Decision.REVOKE and notion.decided_by == "end rule"
    op = run_operation(notion, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.SUCCEEDED and notion.okta_outcome == OktaOutcome.SUCCEEDED
    assert "Notion" not in {a.label for a in okta.list_user_apps(MAYA)}
    kept.refresh_from_db()
    assert kept.decision == Decision.KEEP and kept.operation_id is None
    assert not ReviewItem.objects.filter(campaign=review, decision="").exists()
    ended = AuditEvent.objects.get(action="review_campaign.ended", target_id=str(review.pk))
    assert ended.detail["revoked_by_end_rule"] == review.item_count - 1
    # Ending twice does nothing; a decision after the end is refused.
    assert services.campaign_end(actor="system", campaign_id=review.pk) is None


def account_of(item: ReviewItem) -> User:
    found = User.objects.filter(okta_id=item.reviewer_okta_id).first()
    if found:
        return found
    login = OktaUser.objects.get(pk=item.reviewer_okta_id).login
    return User.objects.create(username=login, email=login, okta_id=item.reviewer_okta_id)


@pytest.mark.django_db
def test_undecided_items_are_kept_by_the_keep_end_rule(
    okta_sandbox: Any, queued: list[int]
) -> None:
    mirror()
    sam = account("sam")
    review = campaign(sam, group_names=[FRONTEND], end_rule="keep")
    summary = services.campaign_end(actor=sam, campaign_id=review.pk)
    assert summary is not None and summary.kept == review.item_count > 0
    assert not ReviewItem.objects.filter(campaign=review).exclude(decision="keep").exists()
    assert queued == [] and not Operation.objects.exists()
    with pytest.raises(ReviewError, match="not in review"):
        services.review_item_decide(
            actor=account("priya"),
            item_id=ReviewItem.objects.get(campaign=review, subject_id=MAYA).pk,
            decision="revoke",
        )
