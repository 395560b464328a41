from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# What a token may be used for. Each scope also needs the owner's own permission where the
# matching page needs one (api/endpoints.py): a scope narrows what a person may do, never widens it.
SCOPES: dict[str, str] = {
    "catalog:read": "Read the catalog",
    "requests:read": "Read your requests",
    "requests:write": "Ask for access and withdraw your requests",
    "inbox:read": "Read the requests waiting for your decision",
    "inbox:decide": "Approve or deny requests",
    "access:read": "Read your access",
    "grants:read": "Read every grant (admins)",
    "audit:read": "Read the audit trail (auditors)",
    "operations:read": "Read the Okta operation queue (admins)",
}


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    SERVICE = "service", "Service"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """A bearer token for the API: ``gh_<prefix>_<secret>``, shown once when made.

    Only the SHA-256 of the whole token is kept (a random 256-bit secret needs no slow hash).
    A personal token acts as its owner; a service token (made by an admin, for a ticketing tool
    or a script) acts with its owner's account too, so it can never do more than the admin who
    made it can do today. Either way each call is audited with the token's name."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=254, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_service_tokens", "Make and revoke service tokens")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} token {self.name!r} ({self.prefix})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"
