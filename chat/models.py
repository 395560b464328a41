"""What Gatehouse sent to Slack, and the interactions it has already accepted."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from approvals.models import AccessRequest


class SlackMessage(models.Model):
    """One approver's message about one stage of a request: where it is in Slack (its DM
    channel and ts, to update it) and whom it was sent to (only they may click its buttons)."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="+")
    stage = models.PositiveSmallIntegerField()
    approver_okta_id = models.CharField(max_length=32)
    slack_user = models.CharField(max_length=32)
    channel = models.CharField(max_length=32)
    ts = models.CharField(max_length=32)
    # The outcome line the message shows now; empty while its buttons are live.
    shown = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "stage", "approver_okta_id"], name="chat_one_message_per_slot"
            ),
            models.UniqueConstraint(fields=["channel", "ts"], name="chat_message_channel_ts"),
        ]

    def __str__(self) -> str:
        return f"request #{self.request_id} stage {self.stage} to {self.slack_user}"


class SlackSeenRequest(models.Model):
    """A signed interaction already accepted, kept until its timestamp is outside Slack's
    window (then a replay fails the signature check anyway)."""

    signature = models.CharField(max_length=100, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.signature
