"""API tokens: made, shown once, used, revoked. Every change is audited."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import User
from api.models import SCOPES, ApiToken, TokenKind
from audit.services import audit_record
from core.errors import ServiceError

SERVICE_TOKENS_PERMISSION = "api.manage_service_tokens"
_TOKEN = re.compile(r"^gh_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
# How often a token's last use is written (a busy script would otherwise write on every call).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    actor: User,
    name: str,
    kind: str,
    scopes: list[str],
    days: int,
    http_request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Make a token for ``actor``; returns it and its secret text (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ServiceError("Give the token a name of 1 to 100 characters.", field="name")
    if kind not in TokenKind.values:
        raise ServiceError("Choose personal or service.", field="kind")
    if kind == TokenKind.SERVICE and not actor.has_perm(SERVICE_TOKENS_PERMISSION):
        raise ServiceError("Only admins make service tokens.", field="kind")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ServiceError(f"Unknown scope: {', '.join(unknown)}.", field="scopes")
    if not scopes:
        raise ServiceError("Choose at least one scope.", field="scopes")
    longest = int(settings.API_TOKEN_MAX_DAYS)
    if not 1 <= days <= longest:
        raise ServiceError(f"A token lasts 1 to {longest} days.", field="days")
    prefix = secrets.token_hex(6)
    raw = f"gh_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            kind=kind,
            owner=actor,
            prefix=prefix,
            digest=_digest(raw),
            scopes=sorted(set(scopes)),
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_record(
            action="api.token_created",
            actor=actor,
            target_type="api_token",
            target_id=str(token.pk),
            target_label=str(token),
            detail={"scopes": token.scopes, "expires_at": token.expires_at.isoformat()},
            request=http_request,
        )
    return token, raw


def tokens_visible_to(user: User) -> QuerySet[ApiToken]:
    """Admins see every token (to revoke any in an incident); others their own."""
    tokens = ApiToken.objects.select_related("owner")
    if user.has_perm(SERVICE_TOKENS_PERMISSION):
        return tokens
    return tokens.filter(owner=user)


def token_revoke(
    *, actor: User, token_id: int, http_request: HttpRequest | None = None
) -> ApiToken:
    with transaction.atomic():
        token = tokens_visible_to(actor).select_for_update(of=("self",)).filter(pk=token_id).first()
        if token is None:
            raise Http404("No such token")
        if token.revoked_at is not None:
            raise ServiceError("This token is already revoked.")
        token.revoked_at = timezone.now()
        token.revoked_by = actor.get_username()
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            action="api.token_revoked",
            actor=actor,
            target_type="api_token",
            target_id=str(token.pk),
            target_label=str(token),
            detail={"owner": token.owner.get_username()},
            request=http_request,
        )
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token ``raw`` is, with its owner, or None (unknown, revoked, expired, an
    inactive owner). The secret is compared in constant time."""
    found = _TOKEN.match(raw or "")
    if not found:
        return None
    token = ApiToken.objects.usable().select_related("owner").filter(prefix=found[1]).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(raw)):
        return None
    if not token.owner.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
