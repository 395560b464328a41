"""The mirror of the Okta directory, and the records of talking to Okta.

Okta is the source of truth: rows here are written by sync (in bulk) and by operations when Okta
has said yes. Okta ids are the primary keys, so upserts need no lookups. Membership and
assignment rows carry no database foreign-key constraints: sync writes them in bulk, in any order,
and a scope filter may leave one side unmirrored.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower


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


# Separates the fields in OktaUser.search. A search term never holds one: terms are split on
# whitespace.
SEARCH_SEPARATOR = "\n"


def _search_text(*fields: str) -> Lower:
    parts: list[Any] = []
    for name in fields:
        parts += [Value(SEARCH_SEPARATOR), name]
    return Lower(Concat(*parts, output_field=models.TextField()))


class StoredGeneratedField(models.GeneratedField):
    """A ``GeneratedField`` whose system checks need no database connection. Django's general
    support check asks first whether the database has *virtual* generated columns, which on
    PostgreSQL means the server's version: a connection, so ``manage.py check`` (and
    ``migrate``'s own checks) failed before the database existed. The persistence check still
    runs and says whether the database supports the column as declared (stored or virtual),
    from static features for a stored one."""

    def _check_supported(self, databases: Any) -> list[Any]:
        return []

    def deconstruct(self) -> Any:
        # Migrations see the plain GeneratedField they created, so none is needed for this.
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.GeneratedField", args, kwargs


class OktaUser(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    status = models.CharField(max_length=20, choices=UserStatus.choices)
    login = models.CharField(max_length=255, unique=True)
    email = models.CharField(max_length=255)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    manager_id = models.CharField(max_length=32, blank=True)
    employee_number = models.CharField(max_length=50, blank=True)
    profile = models.JSONField(default=dict)
    created = models.DateTimeField(null=True)
    activated = models.DateTimeField(null=True)
    status_changed = models.DateTimeField(null=True)
    last_login = models.DateTimeField(null=True, db_index=True)
    last_updated = models.DateTimeField(null=True, db_index=True)
    password_changed = models.DateTimeField(null=True)
    synced_at = models.DateTimeField(auto_now=True)
    # What the directory search matches: each searched field lower-cased, every one preceded by
    # SEARCH_SEPARATOR, so "starts with" on any field is one ``LIKE '%<sep>term%'`` on one
    # column, which a trigram index answers on PostgreSQL (migration 0007). The database keeps
    # it up to date on every write, COPY included.
    search = StoredGeneratedField(
        expression=_search_text("first_name", "last_name", "display_name", "email", "login"),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        # Plain indexes declared here rather than db_index=True: on PostgreSQL db_index on a
        # CharField adds a *_like twin, which only the exact-match lookups here never use and
        # which slows the sync's bulk upserts.
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="okta_user_name_idx"),
            models.Index(fields=["status"], name="okta_user_status_idx"),
            models.Index(fields=["email"], name="okta_user_email_idx"),
            models.Index(fields=["department"], name="okta_user_department_idx"),
            models.Index(fields=["manager_id"], name="okta_user_manager_idx"),
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
    # No single-column indexes: (group, user) and (user, group) cover every lookup, and each
    # extra index (with its *_like twin on PostgreSQL) slows the sync's bulk inserts.
    group = models.ForeignKey(
        OktaGroup,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="memberships",
    )
    user = models.ForeignKey(
        OktaUser,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="memberships",
    )
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="okta_membership_unique")
        ]
        indexes = [models.Index(fields=["user", "group"], name="okta_membership_user_idx")]


class AppAssignment(models.Model):
    """A user's assignment to an app; ``scope`` GROUP means it comes through a group."""

    # As for memberships: the two composite indexes cover every lookup.
    app = models.ForeignKey(
        OktaApp,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="assignments",
    )
    user = models.ForeignKey(
        OktaUser,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="app_assignments",
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


class OperationStatus(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class OperationKind(models.TextChoices):
    GROUP_MEMBER_ADD = "group.member.add"
    GROUP_MEMBER_REMOVE = "group.member.remove"
    APP_USER_ASSIGN = "app.user.assign"
    APP_USER_UNASSIGN = "app.user.unassign"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    USER_ACTIVATE = "user.activate"
    USER_REACTIVATE = "user.reactivate"
    USER_DEACTIVATE = "user.deactivate"
    USER_SUSPEND = "user.suspend"
    USER_UNSUSPEND = "user.unsuspend"
    USER_UNLOCK = "user.unlock"
    USER_DELETE = "user.delete"
    USER_RESET_PASSWORD = "user.reset_password"
    USER_EXPIRE_PASSWORD = "user.expire_password"
    USER_RESET_FACTORS = "user.reset_factors"
    USER_CLEAR_SESSIONS = "user.clear_sessions"
    GROUP_CREATE = "group.create"
    GROUP_UPDATE = "group.update"
    GROUP_DELETE = "group.delete"


class Operation(models.Model):
    """One Okta call the portal has decided to make (the outbox).

    Written by ``okta.operations.operation_enqueue`` in the caller's transaction, executed by a
    worker that claims it with a conditional UPDATE, and finished with what Okta answered.
    ``result`` may hold one-time secrets (a reset URL, a temporary password): show them to the
    caller once, never copy them into audit detail or logs.
    """

    kind = models.CharField(max_length=40, choices=OperationKind.choices)
    params = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=OperationStatus.choices, default=OperationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    okta_status = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    error_summary = models.TextField(blank=True)
    okta_request_id = models.CharField(max_length=100, blank=True)
    result = models.JSONField(default=dict, blank=True)
    correlation = models.CharField(max_length=100, blank=True, db_index=True)
    callback_task = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="okta_op_queue_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="okta_op_due_idx"),
            models.Index(fields=["status", "claimed_at"], name="okta_op_claim_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)


class SyncKind(models.TextChoices):
    FULL = "full"
    INCREMENTAL = "incremental"


class SyncStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, but some objects could not be read (see errors)
    FAILED = "failed"


class SyncRun(models.Model):
    """One sync of the mirror. At most one row is RUNNING (a partial unique index), which is what
    keeps two syncs from running at once across processes and machines."""

    kind = models.CharField(max_length=12, choices=SyncKind.choices)
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    triggered_by = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total_estimate = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="okta_syncrun_one_running",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "status", "-started_at"], name="okta_sync_kind_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} sync #{self.pk} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status == SyncStatus.RUNNING

    @property
    def progress_percent(self) -> int:
        if not self.is_running:
            return 100
        if not self.total_estimate:
            return 0
        return min(99, int(100 * self.done / self.total_estimate))


class AuthMethod(models.TextChoices):
    API_TOKEN = "token", "API token (SSWS)"
    OAUTH = "oauth", "OAuth 2.0 service app (private key JWT)"


class OktaConnection(models.Model):
    """The Okta org Gatehouse talks to, entered by an admin (one row, pk=1).

    Secrets are Fernet ciphertexts (okta.crypto); they are never rendered back to anyone.
    Environment settings (OKTA_*) take precedence and make this read-only.
    """

    org_url = models.URLField(max_length=255)
    auth_method = models.CharField(max_length=10, choices=AuthMethod.choices)
    api_token_encrypted = models.TextField(blank=True)
    client_id = models.CharField(max_length=100, blank=True)
    private_key_encrypted = models.TextField(blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    acts_as = models.CharField(max_length=255, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    event_hook_id = models.CharField(max_length=64, blank=True)
    event_hook_status = models.CharField(max_length=30, blank=True)
    event_hook_secret_encrypted = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.org_url


class SyncScope(models.Model):
    """What the mirror holds (one row, pk=1). Empty lists mean "everything"."""

    group_types = models.JSONField(default=list, blank=True)
    group_name_patterns = models.JSONField(default=list, blank=True)
    user_statuses = models.JSONField(default=list, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "sync scope"


class SyncCursor(models.Model):
    """Where incremental sync resumes: e.g. the System Log ``since`` timestamp."""

    name = models.CharField(primary_key=True, max_length=50)
    value = models.CharField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class HookEvent(models.Model):
    """An Okta event received by the event hook, stored once per uuid (deduplication)."""

    uuid = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=120)
    published = models.CharField(max_length=40, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.uuid}"
