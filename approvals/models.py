"""Catalog, policies, access requests, decisions and grants.

People are referred to by Okta user id (text) wherever they may never have signed in to
Gatehouse (a report a manager requests for, an approver resolved from a group); the person who
acts in the portal is a ``portal.User``. Okta calls are never made from here: fulfilment writes
``okta.Operation`` rows through ``okta.operations`` and follows them by their correlation text.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from okta.models import GroupType, OktaApp, OktaGroup, OktaUser

if TYPE_CHECKING:
    from accounts.models import User


class RiskLevel(models.TextChoices):
    LOW = "LOW", "Low"
    MEDIUM = "MEDIUM", "Medium"
    HIGH = "HIGH", "High"


RISK_ORDER = {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


class ApproverKind(models.TextChoices):
    MANAGER = "MANAGER", "The person's manager"
    APPROVER_GROUP = "APPROVER_GROUP", "The item's approver group"
    OWNERS = "OWNERS", "The item's owners"
    ADMINS = "ADMINS", "Gatehouse admins"


# Where a stage goes when nobody eligible is left in it: owners, then admins.
FALLBACK_TIER = {
    ApproverKind.MANAGER: ApproverKind.OWNERS,
    ApproverKind.APPROVER_GROUP: ApproverKind.OWNERS,
    ApproverKind.OWNERS: ApproverKind.ADMINS,
}


class StageRule(models.TextChoices):
    ANY = "ANY", "Any one approver"
    ALL = "ALL", "All approvers"


class Policy(models.Model):
    """An ordered chain of 1-3 approval stages, plus an optional auto-approve rule.

    Auto-approve applies when the item's risk is at most ``auto_approve_max_risk`` and, if
    ``auto_approve_departments`` is not empty, the person's Okta department is in it.
    ``requester_departments`` (empty = everyone) limits who may ask at all.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    auto_approve_max_risk = models.CharField(
        max_length=10, choices=RiskLevel.choices, blank=True, default=""
    )
    auto_approve_departments = models.JSONField(default=list, blank=True)
    requester_departments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_policies", "Can edit approval policies")]

    def __str__(self) -> str:
        return self.name

    def auto_approve_reason(self, *, risk: str, department: str) -> str:
        """Why a request is approved at once, or "" when it is not."""
        if not self.auto_approve_max_risk:
            return ""
        if RISK_ORDER[RiskLevel(risk)] > RISK_ORDER[RiskLevel(self.auto_approve_max_risk)]:
            return ""
        if self.auto_approve_departments and department not in self.auto_approve_departments:
            return ""
        who = f"people in {department}" if self.auto_approve_departments else "everyone"
        return (
            f"Auto-approved by policy “{self.name}”: {RiskLevel(risk).label.lower()}-risk "
            f"item for {who}."
        )

    def may_request(self, *, department: str) -> bool:
        return not self.requester_departments or department in self.requester_departments

    def stage_snapshot(self) -> list[dict[str, str]]:
        return [{"approvers": s.approvers, "rule": s.rule} for s in self.stages.all()]

    def needs_approver_group(self) -> bool:
        """Whether a stage waits for the item's approver group."""
        return any(s.approvers == ApproverKind.APPROVER_GROUP for s in self.stages.all())


class PolicyStage(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    approvers = models.CharField(max_length=20, choices=ApproverKind.choices)
    rule = models.CharField(max_length=3, choices=StageRule.choices, default=StageRule.ANY)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="approvals_stage_unique"),
            models.CheckConstraint(
                condition=Q(position__gte=1, position__lte=3), name="approvals_stage_1_to_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_approvers_display()} ({self.get_rule_display()})"


class ItemKind(models.TextChoices):
    GROUP = "GROUP", "Group"
    APP = "APP", "App"


class CatalogItemQuerySet(models.QuerySet["CatalogItem"]):
    def published(self) -> CatalogItemQuerySet:
        return self.filter(published=True)

    def search(self, text: str) -> CatalogItemQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(name__icontains=text) | Q(description__icontains=text))


class CatalogItem(models.Model):
    """An Okta group or app that people may request."""

    kind = models.CharField(max_length=5, choices=ItemKind.choices)
    group = models.OneToOneField(
        OktaGroup,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="catalog_item",
    )
    app = models.OneToOneField(
        OktaApp,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="catalog_item",
    )
    name = models.CharField(max_length=255, db_index=True)
    description = models.TextField(blank=True)
    department = models.CharField(max_length=100, blank=True, db_index=True)
    owners = models.JSONField(default=list, blank=True, help_text="Okta user ids")
    approver_group = models.ForeignKey(
        OktaGroup,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="approves_items",
    )
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="items")
    default_duration_days = models.PositiveIntegerField(null=True, blank=True)
    max_duration_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: permanent access may be requested."
    )
    reason_required = models.BooleanField(default=True)
    risk = models.CharField(max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    published = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogItemQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [("manage_catalog", "Can publish and edit catalog items")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="GROUP", group__isnull=False, app__isnull=True))
                | Q(kind="APP", app__isnull=False, group__isnull=True),
                name="approvals_item_one_resource",
            ),
            models.CheckConstraint(
                condition=Q(max_duration_days__isnull=True)
                | Q(default_duration_days__isnull=False),
                name="approvals_item_default_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("approvals:request_new", args=[self.pk])

    @property
    def resource_id(self) -> str:
        return self.group_id if self.kind == ItemKind.GROUP else self.app_id  # type: ignore[return-value]

    def missing_approver_group_reason(self) -> str:
        """Why the item cannot be saved or published as it stands: its policy sends a stage to
        the item's approver group and it has none (the stage would silently fall to owners)."""
        if self.approver_group_id or not self.policy_id or not self.policy.needs_approver_group():
            return ""
        return (
            f"The policy “{self.policy.name}” asks the item's approver group to decide, and "
            f"{self.name or 'this item'} has none: give an approver group, or choose another "
            "policy."
        )

    @property
    def not_requestable_reason(self) -> str:
        if self.kind == ItemKind.GROUP and self.group and self.group.type != GroupType.OKTA_GROUP:
            return not_requestable_reason(self.group)
        return ""

    def duration_choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs within the maximum; "" means permanent."""
        options = [
            d
            for d in settings.APPROVALS_DURATION_CHOICES_DAYS
            if self.max_duration_days is None or d <= self.max_duration_days
        ]
        if self.max_duration_days is not None and self.max_duration_days not in options:
            options.append(self.max_duration_days)
        if self.default_duration_days and self.default_duration_days not in options:
            options.append(self.default_duration_days)
        choices = [(str(d), f"{d} day{'s' if d != 1 else ''}") for d in sorted(options)]
        if self.max_duration_days is None:
            choices.append(("", "Permanent"))
        return choices


def not_requestable_reason(group: OktaGroup) -> str:
    if group.type == GroupType.APP_GROUP:
        return "Membership comes from an app (APP_GROUP): Okta does not let anyone change it."
    if group.type == GroupType.BUILT_IN:
        return "Built-in Okta group (BUILT_IN): its membership cannot be changed."
    return ""


class RequestStatus(models.TextChoices):
    PENDING = "PENDING", "Pending approval"
    APPROVED = "APPROVED", "Approved"
    FULFILLING = "FULFILLING", "Being set up in Okta"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"
    DENIED = "DENIED", "Denied"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"


OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.FULFILLING)

STATUS_ICONS = {
    RequestStatus.PENDING: ("◔", "warning"),
    RequestStatus.APPROVED: ("✔", "info"),
    RequestStatus.FULFILLING: ("⚙", "info"),
    RequestStatus.COMPLETED: ("✔", "success"),
    RequestStatus.FAILED: ("✖", "danger"),
    RequestStatus.DENIED: ("✖", "danger"),
    RequestStatus.CANCELLED: ("⊘", "secondary"),
    RequestStatus.EXPIRED: ("◌", "secondary"),
}


def may_decide_q(user: User, *, to_request: str = "", to_slot: str = "approvers__") -> Q:
    """Who may decide a request at its current stage, as a filter: THE rule, written once.

    A person may decide a request when it is pending, they hold an approver slot of its current
    stage that they have not used yet (slots are resolved when the request enters a stage, see
    ``RequestApprover``), and they are neither the requester nor the subject. Being an admin or
    a superuser gives no slot: admins decide where routing made them approvers.

    Written from the request (``AccessRequest.objects.filter(...)``, the default) or from the
    approver slot (``to_request="request__", to_slot=""``). ``AccessRequest.can_be_decided_by``,
    the inbox (``AccessRequestQuerySet.decidable_by``), the waiting count
    (``approvals.queries.waiting_count``) and the decide service are all this filter.
    """
    if not user.okta_id:
        return Q(pk__in=[])  # nobody without an Okta id holds a slot
    return (
        Q(
            **{
                f"{to_request}status": RequestStatus.PENDING,
                f"{to_slot}okta_id": user.okta_id,
                f"{to_slot}stage": models.F(f"{to_request}current_stage"),
                f"{to_slot}decided_at__isnull": True,
            }
        )
        & ~Q(**{f"{to_request}requester_id": user.pk})
        & ~Q(**{f"{to_request}subject_id": user.okta_id})
    )


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def decidable_by(self, user: User) -> AccessRequestQuerySet:
        """Requests this person may decide now (``may_decide_q``): the inbox's queue."""
        return self.filter(may_decide_q(user))

    def visible_to(self, user: User) -> AccessRequestQuerySet:
        """Requests a person may look at: asked by them, for them, or waiting on them."""
        q = Q(requester=user)
        if user.okta_id:
            q |= Q(subject_id=user.okta_id) | Q(approvers__okta_id=user.okta_id)
        return self.filter(q).distinct()

    def viewable_by(self, user: User) -> AccessRequestQuerySet:
        """What a request's page shows to ``user``: ``visible_to``, or every request for those
        who may view all (admins). The page and the API ask this one question."""
        return self if user.has_perm("approvals.view_all_requests") else self.visible_to(user)

    def ever_routed_to(self, user: User) -> AccessRequestQuerySet:
        """Requests ``user`` was ever asked to decide, or every request for admins: whom a
        decision is answered for (anyone else gets 404, not a refusal)."""
        if user.has_perm("approvals.view_all_requests"):
            return self
        return self.filter(approvers__okta_id=user.okta_id or "-").distinct()


class AccessRequest(models.Model):
    """A request for a catalog item, or (``kind`` set, no item) for something another app
    fulfils through a hook it registered in ``approvals.fulfilment`` (identity actions)."""

    item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    kind = models.CharField(
        max_length=30,
        blank=True,
        default="",
        help_text="Empty for catalog access; else the registered fulfilment that carries it out.",
    )
    title = models.CharField(max_length=255, blank=True, help_text="What is asked, when no item.")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    subject = models.ForeignKey(
        OktaUser,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="access_requests",
        help_text="The Okta user who gets the access (or whom the action is about).",
    )
    subject_label = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    reason = models.TextField(blank=True)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    policy_name = models.CharField(max_length=100)
    stages = models.JSONField(default=list, help_text="The policy's stages when submitted.")
    current_stage = models.PositiveSmallIntegerField(default=1)
    auto_approved_reason = models.TextField(blank=True)
    extends_grant = models.ForeignKey(
        "Grant", on_delete=models.SET_NULL, null=True, blank=True, related_name="extensions"
    )
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    pending_until = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request per person and item, even under concurrent submissions.
            models.UniqueConstraint(
                fields=["subject", "item"],
                condition=Q(status__in=["PENDING", "APPROVED", "FULFILLING"]),
                name="approvals_one_open_request",
            ),
            models.CheckConstraint(
                condition=Q(kind="", item__isnull=False) | (~Q(kind="") & Q(item__isnull=True)),
                name="approvals_request_item_or_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "pending_until"], name="approvals_req_due_idx"),
            models.Index(fields=["requester", "-created_at"], name="approvals_req_mine_idx"),
            # The inbox walks pending requests oldest first and stops after one page; with the
            # stage in it, the walk and the waiting count read only the index.
            models.Index(
                fields=["created_at", "id", "current_stage"],
                condition=Q(status="PENDING"),
                name="approvals_req_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk}: {self.label}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:request_detail", args=[self.pk])

    @property
    def what(self) -> str:
        """The item's name, or what the action does."""
        return self.item.name if self.item_id and self.item else self.title

    @property
    def label(self) -> str:
        """The request in one phrase that names the person once: "Engineering - Backend for
        Maya Chen"; an action's title already says whom it is about ("Suspend John Doe")."""
        if not self.kind:
            return f"{self.what} for {self.subject_label}" if self.subject_label else self.what
        if self.subject_label and self.subject_label not in self.title:
            return f"{self.title}: {self.subject_label}"  # asked before titles named the person
        return self.title

    def waiting_on(self) -> str:
        """Whom the request waits for now, in words: "Backend Approvers (Omar Haddad or Olive
        Jones)". Two or three queries; for one request at a time."""
        rows = list(
            self.approvers.filter(stage=self.current_stage, decided_at__isnull=True)
            .order_by("okta_id")
            .values_list("okta_id", "tier")
        )
        if not rows:
            return "an admin to step in (nobody who may decide is left)"
        names = sorted(str(u) for u in OktaUser.objects.filter(id__in=[r[0] for r in rows]))
        word = "and" if self.current_stage_def().get("rule") == StageRule.ALL else "or"
        people = _join(names or [r[0] for r in rows], word)
        tier = rows[0][1]
        if tier == ApproverKind.MANAGER:
            return f"{people}, {self.subject_label}'s manager" if self.subject_label else people
        if tier == ApproverKind.APPROVER_GROUP and self.item_id:
            group = OktaGroup.objects.filter(approves_items__pk=self.item_id).first()
            return f"{group.name} ({people})" if group else people
        if tier == ApproverKind.OWNERS:
            return f"the item's owners ({people})"
        return f"the Gatehouse admins ({people})"

    def decision_outcome(self, *, stage: int) -> str:
        """What a decision taken at ``stage`` did, for the person who took it (the request as
        it stands after the decision)."""
        at = f" at stage {stage} of {self.stage_count}" if self.stage_count > 1 else ""
        if self.status == RequestStatus.DENIED:
            return f"Denied{at}; {self.requester} is told."
        if self.status == RequestStatus.PENDING:
            if self.current_stage > stage:
                return f"Approved{at}; now waiting for {self.waiting_on()}."
            return f"Your approval{at} is counted; still waiting for {self.waiting_on()}."
        if self.status in (RequestStatus.APPROVED, RequestStatus.FULFILLING):
            return f"Approved{at}, the last approval: Gatehouse is making the change in Okta."
        if self.status == RequestStatus.COMPLETED:
            return f"Approved{at}; the change is done in Okta."
        if self.status == RequestStatus.FAILED:
            return f"Approved{at}, but Okta refused the change: the request says why."
        return f"{self.get_status_display()}."

    @property
    def correlation(self) -> str:
        return f"request:{self.pk}"

    @property
    def status_icon(self) -> str:
        return STATUS_ICONS[RequestStatus(self.status)][0]

    @property
    def status_colour(self) -> str:
        return STATUS_ICONS[RequestStatus(self.status)][1]

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    @property
    def stage_count(self) -> int:
        return len(self.stages)

    def current_stage_def(self) -> dict[str, str]:
        return self.stages[self.current_stage - 1]

    def can_be_cancelled_by(self, user: User) -> bool:
        """The requester, or the person who would get the access (not the person an action is
        about: nobody withdraws a request to suspend themselves)."""
        return self.is_pending and (
            self.requester_id == user.pk
            or (not self.kind and bool(user.okta_id) and self.subject_id == user.okta_id)
        )

    def can_be_decided_by(self, user: User) -> bool:
        """Whether ``user`` may decide this request at its current stage (``may_decide_q``, the
        one rule the inbox, its count and the decide service use too). One query."""
        return RequestApprover.objects.filter(
            may_decide_q(user, to_request="request__", to_slot=""), request_id=self.pk
        ).exists()

    def is_party(self, user: User) -> bool:
        """Requester or subject: people who may not decide it."""
        return self.requester_id == user.pk or (
            bool(user.okta_id) and self.subject_id == user.okta_id
        )


def _join(names: list[str], word: str) -> str:
    """ "A", "A or B", "A, B or C", "A, B, C or 2 others"."""
    if len(names) > 4:
        names = [*names[:3], f"{len(names) - 3} others"]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


class RequestApprover(models.Model):
    """Who may decide a stage, resolved when the request enters it."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvers")
    stage = models.PositiveSmallIntegerField()
    okta_id = models.CharField(max_length=32)
    tier = models.CharField(max_length=20, choices=ApproverKind.choices)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "stage", "okta_id"], name="approvals_approver_unique"
            )
        ]
        indexes = [
            models.Index(fields=["okta_id", "decided_at"], name="approvals_approver_inbox_idx"),
            # "Is this request waiting for me?" per inbox row, and the badge count, answered from
            # the index alone.
            models.Index(
                fields=["okta_id", "request", "stage"],
                condition=Q(decided_at__isnull=True),
                name="approvals_approver_waiting_idx",
            ),
        ]


class DecisionOutcome(models.TextChoices):
    APPROVE = "APPROVE", "Approved"
    DENY = "DENY", "Denied"


class Decision(models.Model):
    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="decisions")
    stage = models.PositiveSmallIntegerField()
    decider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField(max_length=7, choices=DecisionOutcome.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "stage", "decider"], name="approvals_one_decision_per_stage"
            )
        ]


class RequestEvent(models.Model):
    """The timeline people see on a request: submitted, routed, decided, Okta's answers."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    actor_label = models.CharField(max_length=255, blank=True)
    text = models.TextField()
    is_problem = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]


class GrantStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    REVOKING = "REVOKING", "Being removed"
    REVOKED = "REVOKED", "Removed"
    SUPERSEDED = "SUPERSEDED", "Extended"
    REVOKE_FAILED = "REVOKE_FAILED", "Removal failed"


class GrantQuerySet(models.QuerySet["Grant"]):
    def due(self, now: datetime | None = None) -> GrantQuerySet:
        return self.filter(status=GrantStatus.ACTIVE, expires_at__lte=now or timezone.now())


class Grant(models.Model):
    """Access Gatehouse gave through a completed request; time-bound when ``expires_at`` is set."""

    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="grants")
    subject = models.ForeignKey(
        OktaUser, on_delete=models.DO_NOTHING, db_constraint=False, related_name="grants"
    )
    status = models.CharField(max_length=15, choices=GrantStatus.choices, default="ACTIVE")
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=30, blank=True)
    revoke_note = models.TextField(blank=True, help_text="Why an admin ended it, for the holder.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.TextField(blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approvals_grant_due_idx"),
            # The admins' list of active grants, newest first, whole or for one item: walked
            # from the newest and stopped after a page, however many grants have ended.
            models.Index(
                fields=["id"], condition=Q(status="ACTIVE"), name="approvals_grant_active_idx"
            ),
            models.Index(
                fields=["item", "id"], condition=Q(status="ACTIVE"), name="approvals_grant_item_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Grant #{self.pk}: {self.item} for {self.subject_id}"

    REVOKE_REASONS = {
        "expired": "it expired",
        "relinquished": "given up by the holder",
        "ended_by_admin": "ended by an admin",
    }

    @property
    def revoke_reason_label(self) -> str:
        """Why the access is being (or was) removed, in words."""
        return self.REVOKE_REASONS.get(self.revoke_reason, self.revoke_reason.replace("_", " "))

    @property
    def correlation(self) -> str:
        return f"grant:{self.pk}"
