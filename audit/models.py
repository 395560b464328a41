"""The audit trail: one append-only, hash-chained table.

Rows hold text, never foreign keys, so the trail outlives whatever it describes. The database
refuses UPDATE, DELETE and TRUNCATE of the table (triggers, see ``audit/guards.py``); the model
and its queryset refuse them too, so a mistake fails loudly in Python before it reaches SQL.
Write through ``audit.services.audit_record`` only: it serialises appends and computes the chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64
STALE_VERIFICATION = dt.timedelta(minutes=30)


class AuditTrailImmutableError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailImmutableError("audit events cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutableError("audit events cannot be deleted")

    def filter_by(
        self,
        *,
        actor: str = "",
        target_type: str = "",
        target_id: str = "",
        action: str = "",
        outcome: str = "",
        occurred_from: Any = None,
        occurred_to: Any = None,
        text: str = "",
    ) -> AuditEventQuerySet:
        """Narrow to the filters the audit page offers; empty values are ignored.

        ``action`` ending in ``*`` (``request.*``) matches by prefix; ``text`` searches the
        target label.
        """
        qs = self
        if actor:
            qs = qs.filter(actor=actor)
        if target_type:
            qs = qs.filter(target_type=target_type)
        if target_id:
            qs = qs.filter(target_id=target_id)
        if action:
            if action.endswith("*"):
                qs = qs.filter(action__startswith=action.rstrip("*"))
            else:
                qs = qs.filter(action=action)
        if outcome:
            qs = qs.filter(outcome=outcome)
        if occurred_from is not None:
            qs = qs.filter(occurred_at__gte=occurred_from)
        if occurred_to is not None:
            qs = qs.filter(occurred_at__lt=occurred_to)
        if text:
            qs = qs.filter(target_label__icontains=text)
        return qs


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=64)
    actor = models.CharField(max_length=254, blank=True)
    actor_okta_id = models.CharField(max_length=64, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=32, default="success")
    # Text, normalised by the writer: an inet column would re-render IPv6 and break the hash.
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Unique (see Meta): two events can never claim the same predecessor, so the chain cannot
    # fork even if a writer bypassed the append lock.
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects: ClassVar[AuditEventQuerySet] = AuditEventQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [("export_auditevent", "Can export audit events")]
        constraints = [
            # A constraint, not unique=True: that would add a second, LIKE-only index on PostgreSQL.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_prev_hash_unique"),
        ]
        indexes = [
            models.Index(fields=["actor", "id"], name="audit_actor_id"),
            models.Index(fields=["target_type", "target_id", "id"], name="audit_target_id"),
            models.Index(fields=["action", "id"], name="audit_action_id"),
            models.Index(fields=["outcome", "id"], name="audit_outcome_id"),
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutableError("audit events cannot be changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutableError("audit events cannot be deleted")


class AuditVerification(models.Model):
    """One run of the integrity check started from the audit page (large trails run in a task)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        PASSED = "passed"
        BROKEN = "broken"
        ERROR = "error"

    requested_by = models.CharField(max_length=254, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    checked = models.BigIntegerField(default=0)
    head_id = models.BigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)
    broken_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"verification #{self.pk} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def is_active(self) -> bool:
        """Still expected to finish: unfinished and recent (a lost task must not block the page)."""
        return not self.is_finished and timezone.now() - self.requested_at < STALE_VERIFICATION


class AuditStreamCursor(models.Model):
    """How far one audit stream sink has acknowledged the trail (audit/streaming.py).

    ``position`` is the id of the last event the sink took; ``lease_token`` / ``lease_until``
    let one process deliver to the sink at a time; ``next_attempt_at`` holds deliveries back
    after a failure (the backoff)."""

    sink = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.sink} at event {self.position}"
