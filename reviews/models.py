"""Access reviews: a campaign snapshots who holds what from the directory mirror, and reviewers
keep or revoke each (person, group/app) pair.

Review items are a snapshot: they keep the names, statuses and how the access was obtained as
the mirror had them when the campaign started, so the evidence reads the same after the
directory changes. Okta ids are text, not foreign keys, as in the mirror.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse


class ReviewerRule(models.TextChoices):
    MANAGER = "manager", "The person's manager"
    OWNERS = "owners", "The item's owners"
    PERSON = "person", "A named person"


class EndRule(models.TextChoices):
    KEEP = "keep", "Keep undecided access"
    REVOKE = "revoke", "Revoke undecided access"


class CampaignStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "In review"
    ENDED = "ended", "Ended"


class Campaign(models.Model):
    """One access review. Its scope is catalog items and/or Okta groups and apps by exact name;
    reviewers follow ``reviewer_rule``, and items nobody can review fall to the admins."""

    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.SCHEDULED
    )
    catalog_item_ids = models.JSONField(default=list, blank=True)
    group_names = models.JSONField(default=list, blank=True)
    app_names = models.JSONField(default=list, blank=True)
    reviewer_rule = models.CharField(max_length=10, choices=ReviewerRule.choices)
    reviewer_okta_id = models.CharField(max_length=32, blank=True, help_text="For a named person.")
    end_rule = models.CharField(max_length=10, choices=EndRule.choices, default=EndRule.KEEP)
    starts_at = models.DateTimeField()
    due_at = models.DateTimeField()
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="reviews_campaign_due_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reviews:campaign_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == CampaignStatus.ACTIVE


class Decision(models.TextChoices):
    UNDECIDED = "", "Undecided"
    KEEP = "keep", "Keep"
    REVOKE = "revoke", "Revoke"


class ResourceKind(models.TextChoices):
    GROUP = "GROUP", "Group"
    APP = "APP", "App"


class OktaOutcome(models.TextChoices):
    NONE = "", "—"
    PENDING = "pending", "Being removed in Okta"
    SUCCEEDED = "succeeded", "Removed in Okta"
    FAILED = "failed", "Okta refused"


# Okta statuses of people who cannot sign in: their access is the first thing to look at.
INACTIVE_STATUSES = frozenset({"STAGED", "PROVISIONED", "SUSPENDED", "DEPROVISIONED"})


class ReviewItem(models.Model):
    """One person's membership of a group, or assignment to an app, as the mirror had it when
    the campaign started, with the reviewer's decision and, for a revocation, Okta's answer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=5, choices=ResourceKind.choices)
    resource_id = models.CharField(max_length=32)
    resource_label = models.CharField(max_length=255)
    group_type = models.CharField(max_length=20, blank=True)
    # USER or GROUP for an app: an assignment that comes through a group is not the person's.
    assignment_scope = models.CharField(max_length=10, blank=True)
    subject_id = models.CharField(max_length=32)
    subject_label = models.CharField(max_length=255)
    subject_login = models.CharField(max_length=255)
    subject_status = models.CharField(max_length=20)
    subject_department = models.CharField(max_length=100, blank=True)
    subject_manager_id = models.CharField(max_length=32, blank=True)
    subject_last_login = models.DateTimeField(null=True, blank=True)
    # How the access was obtained: a Gatehouse grant (its request carries the reason), or none.
    grant = models.ForeignKey(
        "approvals.Grant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="review_items",
    )
    granted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    item_risk = models.CharField(max_length=10, blank=True)
    # Higher first on the reviewer's page: +2 inactive person, +1 outside Gatehouse, +1 high risk.
    risk = models.PositiveSmallIntegerField(default=0)
    # Empty: nobody the rule names can review it, so the admins do.
    reviewer_okta_id = models.CharField(max_length=32, blank=True)
    # The last hand-over: who passed the item to the current reviewer, and when.
    delegated_by = models.CharField(max_length=255, blank=True)
    delegated_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    decided_by = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    operation_id = models.BigIntegerField(null=True, blank=True)
    okta_outcome = models.CharField(max_length=10, choices=OktaOutcome.choices, blank=True)
    okta_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-risk", "subject_label", "id"]
        indexes = [
            models.Index(
                fields=["reviewer_okta_id", "decision", "-risk", "subject_label", "id"],
                name="reviews_item_reviewer_idx",
            ),
            models.Index(fields=["campaign", "decision"], name="reviews_item_campaign_idx"),
            # The few revocations still waiting for Okta, for the lost-callback duty.
            models.Index(
                fields=["operation_id"],
                condition=Q(okta_outcome="pending"),
                name="reviews_item_pending_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "resource_id", "subject_id"],
                name="reviews_item_unique",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=["", "keep", "revoke"]), name="reviews_item_decision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_label} · {self.subject_label}"

    @property
    def correlation(self) -> str:
        return f"review_item:{self.pk}"

    @property
    def is_inactive(self) -> bool:
        return self.subject_status in INACTIVE_STATUSES

    @property
    def is_outside_gatehouse(self) -> bool:
        return self.grant_id is None

    def not_revocable_reason(self) -> str:
        """Why Gatehouse cannot remove this access in Okta, or ""."""
        if self.kind == ResourceKind.GROUP and self.group_type == "APP_GROUP":
            return (
                "Membership comes from an app (APP_GROUP): Okta does not let anyone remove it "
                "here; change it in the app that pushes the group."
            )
        if self.kind == ResourceKind.GROUP and self.group_type == "BUILT_IN":
            return "Built-in Okta group (BUILT_IN): its membership cannot be changed."
        if self.kind == ResourceKind.APP and self.assignment_scope == "GROUP":
            return "The app comes through a group: revoke the group membership that assigns it."
        return ""

    def is_subject(self, okta_id: str | None) -> bool:
        return bool(okta_id) and okta_id == self.subject_id
