"""The mirror of the Okta directory, and the records of talking to Okta.

Okta is the source of truth: rows here are written by sync (in bulk) and by operations when Okta
has said yes. Okta ids are the primary keys, so upserts need no lookups. Membership and
assignment rows carry no database foreign-key constraints: sync writes them in bulk, in any order,
and a scope filter may leave one side unmirrored.
"""

from __future__ import annotations

from django.db import models


class UserStatus(models.TextChoices):
    STAGED = "STAGED"
    PROVISIONED = "PROVISIONED"
    ACTIVE = "ACTIVE"
    RECOVERY = "RECOVERY"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    LOCKED_OUT = "LOCKED_OUT"
    SUSPENDED = "SUSPENDED"
    DEPROVISIONED = "DEPROVISIONED"


class GroupType(models.TextChoices):
    OKTA_GROUP = "OKTA_GROUP"
    APP_GROUP = "APP_GROUP"
    BUILT_IN = "BUILT_IN"


class OktaUser(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    status = models.CharField(max_length=20, choices=UserStatus.choices, db_index=True)
    login = models.CharField(max_length=255, unique=True)
    email = models.CharField(max_length=255, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=100, blank=True, db_index=True)
    title = models.CharField(max_length=150, blank=True)
    manager_id = models.CharField(max_length=32, blank=True, db_index=True)
    employee_number = models.CharField(max_length=50, blank=True)
    profile = models.JSONField(default=dict)
    created = models.DateTimeField(null=True)
    activated = models.DateTimeField(null=True)
    status_changed = models.DateTimeField(null=True)
    last_login = models.DateTimeField(null=True, db_index=True)
    last_updated = models.DateTimeField(null=True, db_index=True)
    password_changed = models.DateTimeField(null=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="okta_user_name_idx")
        ]

    def __str__(self) -> str:
        return self.full_name or self.login

    @property
    def full_name(self) -> str:
        return self.display_name or f"{self.first_name} {self.last_name}".strip()


class OktaGroup(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    type = models.CharField(max_length=20, choices=GroupType.choices, db_index=True)
    name = models.CharField(max_length=255, db_index=True)
    description = models.TextField(blank=True)
    created = models.DateTimeField(null=True)
    last_updated = models.DateTimeField(null=True)
    last_membership_updated = models.DateTimeField(null=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_changeable(self) -> bool:
        """Only OKTA_GROUP memberships and profiles can be changed through the API."""
        return self.type == GroupType.OKTA_GROUP


class OktaApp(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=255)
    label = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=20)
    sign_on_mode = models.CharField(max_length=50, blank=True)
    created = models.DateTimeField(null=True)
    last_updated = models.DateTimeField(null=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "id"]

    def __str__(self) -> str:
        return self.label


class GroupMembership(models.Model):
    group = models.ForeignKey(
        OktaGroup, on_delete=models.DO_NOTHING, db_constraint=False, related_name="memberships"
    )
    user = models.ForeignKey(
        OktaUser, on_delete=models.DO_NOTHING, db_constraint=False, related_name="memberships"
    )
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="okta_membership_unique")
        ]
        indexes = [models.Index(fields=["user", "group"], name="okta_membership_user_idx")]


class AppAssignment(models.Model):
    """A user's assignment to an app; ``scope`` GROUP means it comes through a group."""

    app = models.ForeignKey(
        OktaApp, on_delete=models.DO_NOTHING, db_constraint=False, related_name="assignments"
    )
    user = models.ForeignKey(
        OktaUser, on_delete=models.DO_NOTHING, db_constraint=False, related_name="app_assignments"
    )
    scope = models.CharField(max_length=10, default="USER")
    status = models.CharField(max_length=30, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "user"], name="okta_assignment_unique")
        ]
        indexes = [models.Index(fields=["user", "app"], name="okta_assignment_user_idx")]


class AdminRole(models.Model):
    user = models.ForeignKey(
        OktaUser, on_delete=models.DO_NOTHING, db_constraint=False, related_name="admin_roles"
    )
    role_id = models.CharField(max_length=64, blank=True)
    type = models.CharField(max_length=64, db_index=True)
    label = models.CharField(max_length=255, blank=True)
    assignment_type = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "type"], name="okta_role_unique")]

    PRIVILEGED_TYPES = frozenset({"SUPER_ADMIN", "ORG_ADMIN"})
