"""Identity actions under policy: the per-action policy, each action asked for, bulk runs.

Okta calls are never made from here: an approved action writes ``okta.Operation`` rows through
``okta.operations`` (correlation ``action:<pk>`` or ``bulk:<pk>``) and its outcome is read back
from them, so results always show what Okta answered.
"""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    PASSWORD_RESET = "password_reset", "Password reset"
    ACCOUNT_UNLOCK = "account_unlock", "Unlock account"
    MFA_RESET = "mfa_reset", "Reset MFA"
    SESSIONS_CLEAR = "sessions_clear", "Sign out everywhere"
    USER_SUSPEND = "user_suspend", "Suspend / unsuspend"
    USER_LIFECYCLE = "user_lifecycle", "Activate / reactivate / deactivate / delete"
    USER_CREATE = "user_create", "Create user"
    USER_UPDATE = "user_update", "Update profile"
    GROUP_MEMBERSHIP = "group_membership", "Group membership"
    APP_ASSIGNMENT = "app_assignment", "App assignment"
    GROUP_MANAGE = "group_manage", "Create / rename / delete groups"


class Requester(models.TextChoices):
    SELF = "self", "The person themselves"
    MANAGER = "manager", "Their manager"
    HELPDESK = "helpdesk", "Helpdesk"
    OWNERS = "owners", "Owners of the group or app"
    ADMIN = "admin", "Admins"


class ActionPolicy(models.Model):
    """What one action allows: who may ask, the approval it needs, and its guardrails.

    The approval is an approvals ``Policy`` (its stages; its auto-approve rule is for catalog
    items only), or none: the action then goes to Okta at once."""

    action = models.CharField(max_length=30, choices=Action.choices, unique=True)
    enabled = models.BooleanField(default=True)
    requesters = models.JSONField(default=list, blank=True)
    approval_policy = models.ForeignKey(
        "approvals.Policy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_policies",
        help_text="Empty: no approval.",
    )
    # Self-service asks need no approval unless this is set (a manager approving their own
    # password reset would lock people out of the portal).
    approval_for_self = models.BooleanField(default=False)
    allow_privileged_targets = models.BooleanField(
        default=False, help_text="Allow acting on holders of SUPER_ADMIN / ORG_ADMIN."
    )
    self_service_fields = models.JSONField(default=list, blank=True)
    bulk_confirm_threshold = models.PositiveIntegerField(
        default=50, help_text="Bulk runs larger than this need a second admin to confirm."
    )
    updated_by = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action"]

    def __str__(self) -> str:
        return self.get_action_display()


class ActionRequest(models.Model):
    """One action someone asked for: what it is and what it will do (``params`` holds the
    operations). Without approval its operations were written at once (correlation
    ``action:<pk>``); with approval it is decided as an approvals ``AccessRequest``
    (``approval_request``), which writes them on final approval (correlation ``request:<id>``).
    """

    action = models.CharField(max_length=30, choices=Action.choices)
    variant = models.CharField(max_length=30, blank=True)
    params = models.JSONField(default=dict, blank=True)
    requested_by = models.CharField(max_length=255)
    requested_by_okta_id = models.CharField(max_length=32, blank=True, db_index=True)
    target_user_id = models.CharField(max_length=32, blank=True, db_index=True)
    target_label = models.CharField(max_length=255, blank=True)
    approval_request = models.OneToOneField(
        "approvals.AccessRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="identity_action",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What makes two asks the same (action, variant, person, group or app...), kept while this
    # one may still be open; ``action_submit`` clears it once the action is over, when the same
    # is asked again. The constraint gives one open request even when two admins ask at once.
    open_key = models.CharField(max_length=255, null=True, blank=True, default=None)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["open_key"],
                condition=models.Q(open_key__isnull=False),
                name="identity_one_open_action",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk}"

    @property
    def correlation(self) -> str:
        if self.approval_request_id:
            return f"request:{self.approval_request_id}"
        return f"action:{self.pk}"

    @property
    def summary(self) -> str:
        return str(self.params.get("summary", self.get_action_display()))


class BulkStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "AWAITING", "Waiting for a second admin"
    RUNNING = "RUNNING", "Running"
    CANCELLED = "CANCELLED", "Cancelled"


class BulkRun(models.Model):
    """A confirmed bulk operation: one ``BulkItem`` per person, one operation per change."""

    action = models.CharField(max_length=30)
    params = models.JSONField(default=dict, blank=True)
    selection = models.JSONField(default=dict, blank=True)
    preview_hash = models.CharField(max_length=64)
    total = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=BulkStatus.choices)
    requested_by = models.CharField(max_length=255)
    requested_by_okta_id = models.CharField(max_length=32, blank=True)
    confirmed_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk {self.action} #{self.pk}"

    @property
    def correlation(self) -> str:
        return f"bulk:{self.pk}"


class BulkItem(models.Model):
    run = models.ForeignKey(BulkRun, on_delete=models.CASCADE, related_name="items")
    user_id = models.CharField(max_length=32)
    label = models.CharField(max_length=255, blank=True)
    change = models.CharField(max_length=255, blank=True)
    operation_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "id"], name="identity_bulkitem_run_idx")]
