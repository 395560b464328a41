"""The reviews' periodic duties and reviewer rules, on the small mirror of test_views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from approvals.models import GrantStatus
from audit.models import AuditEvent
from okta.models import Operation, OperationStatus
from reviews import notifications, services
from reviews.models import CampaignStatus, Decision, OktaOutcome, ReviewItem
from reviews.tasks import send_notifications
from tests.fixtures.dispatch import TasksSent
from tests.reviews.conftest import World


def test_reconcile_finishes_a_revocation_whose_callback_was_lost(world: World) -> None:
    item = world.item_of(world.ivy)
    services.review_item_decide(actor=world.p.u["priya"], item_id=item.pk, decision="revoke")
    item.refresh_from_db()
    assert item.operation_id is not None
    finished = timezone.now() - timedelta(minutes=5)
    Operation.objects.filter(pk=item.operation_id).update(
        status=OperationStatus.SUCCEEDED, finished_at=finished, okta_request_id="req-1"
    )
    assert services.review_items_reconcile() == 0  # its callback may still be on its way
    assert services.review_items_reconcile(now=timezone.now() + timedelta(minutes=6)) == 1
    item.refresh_from_db()
    assert item.okta_outcome == OktaOutcome.SUCCEEDED and "req-1" in item.okta_message
    assert AuditEvent.objects.filter(action="review_item.revoked", target_id=str(item.pk))
    assert services.review_items_reconcile(now=timezone.now() + timedelta(hours=1)) == 0


def test_run_due_command_ends_a_campaign_past_its_due_date(world: World) -> None:
    out = StringIO()
    call_command("reviews_run_due", "--at", "+1d", stdout=out)
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.ACTIVE and "0 campaign(s)" in out.getvalue()
    call_command("reviews_run_due", "--at", "+15d", stdout=out)
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.ENDED
    assert not world.campaign.items.exclude(decision=Decision.KEEP).exists()


def test_scheduled_campaign_starts_when_its_start_comes(world: World) -> None:
    campaign = services.campaign_create(
        actor=world.p.u["sam"],
        name="Later",
        group_names=["Engineering - Backend"],
        reviewer_rule="owners",
        starts_at=timezone.now() + timedelta(days=1),
        due_at=timezone.now() + timedelta(days=8),
    )
    assert campaign.status == CampaignStatus.SCHEDULED and not campaign.items.exists()
    assert services.campaigns_run_due(now=timezone.now() + timedelta(days=1, minutes=1)) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE and campaign.item_count == 4


def test_owners_rule_names_the_items_owner_and_never_the_person_themself(world: World) -> None:
    from tests.approvals.conftest import join

    assert world.item.group is not None
    join(world.p.john, world.item.group)  # the owner holds the group too
    campaign = services.campaign_create(
        actor=world.p.u["sam"],
        name="Owners",
        catalog_item_ids=[world.item.pk],
        reviewer_rule="owners",
        due_at=timezone.now() + timedelta(days=8),
    )
    reviewers = dict(campaign.items.values_list("subject_id", "reviewer_okta_id"))
    assert reviewers.pop(world.p.john.id) == ""  # his own: to the admins
    assert set(reviewers.values()) == {world.p.john.id}
    assert ReviewItem.objects.get(campaign=campaign, subject_id=world.p.maya.id).grant_id == (
        world.grant.pk
    )


def test_revoked_grant_backed_access_ends_the_grant(world: World) -> None:
    item = world.item_of(world.p.maya)
    services.review_item_decide(actor=world.p.u["priya"], item_id=item.pk, decision="revoke")
    item.refresh_from_db()
    assert item.operation_id is not None
    world.grant.refresh_from_db()
    assert world.grant.status == GrantStatus.ACTIVE  # until Okta has removed it
    Operation.objects.filter(pk=item.operation_id).update(
        status=OperationStatus.SUCCEEDED, finished_at=timezone.now()
    )
    services.review_operation_finished(operation_id=item.operation_id)
    world.grant.refresh_from_db()
    assert world.grant.status == GrantStatus.REVOKED
    assert world.grant.revoke_reason == "access_review" and world.grant.revoked_at
    assert AuditEvent.objects.filter(action="grant.revoked", target_id=str(world.grant.pk))


Notes = Callable[[], list[list[Any]]]


@pytest.fixture
def reviewer_mail(tasks_sent: TasksSent) -> Notes:
    """The notes of the reviewer email tasks sent after commit so far (kept off the broker)."""
    return lambda: [note for (notes,) in tasks_sent.named(notifications.TASK) for note in notes]


def test_start_emails_each_reviewer_their_count(
    world: World,
    reviewer_mail: Notes,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        campaign = services.campaign_create(
            actor=world.p.u["sam"],
            name="Mailed",
            catalog_item_ids=[world.item.pk],
            reviewer_rule="manager",
            due_at=timezone.now() + timedelta(days=10),
        )
    assert reviewer_mail() == [["reviewers", campaign.pk, "started"]]
    send_notifications(reviewer_mail())
    by_to = {m.to[0]: m for m in mailoutbox}
    assert set(by_to) == {"priya.patel@acme.com", "sam.rivera@acme.com", "dana.brooks@acme.com"}
    priya = by_to["priya.patel@acme.com"]
    assert priya.subject == "[Gatehouse] Access review: Mailed"
    assert "You have 2 items to review" in priya.body and "/reviews/" in priya.body


def test_reminder_is_sent_once_before_the_due_date(
    world: World,
    reviewer_mail: Notes,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    due = world.campaign.due_at
    assert services.campaigns_remind(now=due - timedelta(days=5)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_remind(now=due - timedelta(days=2)) == 1
    assert services.campaigns_remind(now=due - timedelta(days=1)) == 0
    send_notifications(reviewer_mail())
    priya = next(m for m in mailoutbox if m.to == ["priya.patel@acme.com"])
    assert "due soon" in priya.subject and "2 of your items are still undecided" in priya.body
    assert (
        AuditEvent.objects.filter(
            action="review_campaign.reminded", target_id=str(world.campaign.pk)
        ).count()
        == 1
    )
