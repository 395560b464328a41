"""Which Okta org Gatehouse talks to, and with what credentials.

Credentials come from the environment (settings ``OKTA_*``, shown read-only) or from the
connection an admin saved on the connection page (``OktaConnection``, secrets encrypted with
okta.crypto). ``active_client()`` is what sync, tasks and pages call to get a client.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record
from okta.actors import MANAGE_CONNECTION, actor_require
from okta.client import OktaClient, OktaError, get_client
from okta.crypto import decrypt, encrypt
from okta.models import AdminRole, AuthMethod, OktaConnection, OktaGroup
from okta.sync.events import LOG_EVENT_TYPES

HOOK_NAME = "Gatehouse directory updates"
# Okta delivers only "event-hook-eligible" types (user.lifecycle.delete.completed is not; its
# .initiated sibling is). application.lifecycle.delete is left to System Log polling, which the
# sandbox, unlike Okta's catalog, does not offer to hooks.
HOOK_EVENT_TYPES = tuple(
    t
    for t in LOG_EVENT_TYPES
    if t not in ("user.lifecycle.delete.completed", "application.lifecycle.delete")
)


class ConnectionSetupError(Exception):
    """The connection could not be validated or used; ``str()`` is safe to show admins."""


def env_configured() -> bool:
    return bool(
        settings.OKTA_ORG_URL
        and (settings.OKTA_API_TOKEN or (settings.OKTA_CLIENT_ID and settings.OKTA_PRIVATE_KEY))
    )


def stored_connection() -> OktaConnection | None:
    return OktaConnection.objects.filter(pk=1).first()


def is_configured() -> bool:
    return env_configured() or stored_connection() is not None


def active_client(**overrides: Any) -> OktaClient:
    """A client for the configured org: the environment's credentials win, then the stored
    connection. Raises OktaError when nothing is configured."""
    if env_configured():
        return get_client(**overrides)
    conn = stored_connection()
    if conn is None:
        raise OktaError(
            "Okta is not connected yet: an admin must enter the org URL and credentials.",
            error_summary="Not connected",
        )
    if conn.auth_method == AuthMethod.API_TOKEN:
        return get_client(
            org_url=conn.org_url, token=decrypt(conn.api_token_encrypted), **overrides
        )
    return get_client(
        org_url=conn.org_url,
        client_id=conn.client_id,
        private_key=decrypt(conn.private_key_encrypted),
        scopes=conn.scopes.split(),
        **overrides,
    )


_shared = threading.local()


def _configuration_key() -> tuple[Any, ...]:
    """What ``active_client()`` would build a client from, without building one (no secret
    kept in clear: a digest of the credentials)."""
    if env_configured():
        credentials = "|".join(
            [
                settings.OKTA_API_TOKEN,
                settings.OKTA_CLIENT_ID,
                settings.OKTA_PRIVATE_KEY,
                " ".join(settings.OKTA_SCOPES),
            ]
        )
        source: tuple[Any, ...] = (
            "env",
            settings.OKTA_ORG_URL,
            hashlib.sha256(credentials.encode()).hexdigest(),
        )
    else:
        saved = OktaConnection.objects.filter(pk=1).values_list("updated_at", flat=True).first()
        source = ("stored", saved)
    return (
        os.getpid(),
        *source,
        settings.OKTA_TIMEOUT_SECONDS,
        settings.OKTA_MAX_RETRIES,
        settings.OKTA_CONCURRENCY_LIMIT,
    )


def shared_client() -> OktaClient:
    """This thread's long-lived client for the configured org; never close it.

    ``active_client()`` builds a new client each time: an SSL context (the CA bundle parsed
    again), a new connection pool and a governor that forgot its pacing. A worker running
    one operation after another keeps one instead, rebuilt when the configuration (settings
    or the saved connection) changes. A forked child builds its own (sockets are not shared).
    """
    key = _configuration_key()
    cached: tuple[tuple[Any, ...], OktaClient] | None = getattr(_shared, "entry", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None and cached[0][0] == key[0]:
        cached[1].close()
    client = active_client()
    _shared.entry = (key, client)
    return client


def shared_client_discard() -> None:
    """Close and forget this thread's shared client (tests: each starts with a fresh one)."""
    cached = getattr(_shared, "entry", None)
    if cached is not None:
        del _shared.entry
        if cached[0][0] == os.getpid():
            cached[1].close()


@dataclass(frozen=True)
class Validated:
    acts_as: str


def connection_validate(
    *,
    org_url: str,
    auth_method: str,
    api_token: str = "",
    client_id: str = "",
    private_key: str = "",
    scopes: list[str] | None = None,
    transport: Any = None,
) -> Validated:
    """Try the credentials against Okta; raise ConnectionSetupError with a clear message if they fail.

    A token is checked with ``GET /api/v1/users/me`` (which also says who it acts as); OAuth with a
    scoped read (one user), since a service app has no "me".
    """
    try:
        if auth_method == AuthMethod.API_TOKEN:
            client = get_client(
                org_url=org_url, token=api_token, transport=transport, governor=None
            )
        else:
            client = get_client(
                org_url=org_url,
                client_id=client_id,
                private_key=private_key,
                scopes=scopes or list(settings.OKTA_SCOPES),
                transport=transport,
                governor=None,
            )
    except OktaError as exc:
        raise ConnectionSetupError(_explain(exc)) from exc
    client.max_retries = 1
    client.max_retry_seconds = 5.0
    try:
        with client:
            if auth_method == AuthMethod.API_TOKEN:
                me = client.get_user("me")
                return Validated(acts_as=f"{me.login} ({me.id})" if me.login else me.id)
            next(iter(client.user_pages(limit=1)), None)
            return Validated(acts_as=f"service app {client_id}")
    except OktaError as exc:
        raise ConnectionSetupError(_explain(exc)) from exc


def _explain(exc: OktaError) -> str:
    if exc.status is None:
        if exc.error_summary in ("Invalid org URL", "Missing credentials", "Invalid private key"):
            return exc.message
        return f"Okta could not be reached at that URL: {exc.message}"
    if exc.status == 401 or exc.error_code == "E0000011":
        return "Okta refused the credentials (invalid or expired token / client)."
    if exc.status == 403:
        return f"The credentials work but lack permission: {exc.error_summary}"
    return f"Okta answered {exc.status}: {exc.error_summary}"


def connection_save(
    *,
    actor: Any,
    org_url: str,
    auth_method: str,
    api_token: str = "",
    client_id: str = "",
    private_key: str = "",
    scopes: list[str] | None = None,
    transport: Any = None,
) -> OktaConnection:
    """Validate, then store the connection (secrets encrypted) and audit it; nothing is stored
    when validation fails. A blank secret keeps the stored one (forms never echo secrets).
    PermissionDenied unless ``actor`` may manage the connection."""
    actor_require(actor, MANAGE_CONNECTION)
    if env_configured():
        raise ConnectionSetupError(
            "Okta credentials come from the environment (OKTA_*); change them there."
        )
    org_url = org_url.strip().rstrip("/")
    existing = stored_connection()
    same_org = existing is not None and existing.org_url == org_url
    if not api_token and same_org and existing and existing.auth_method == auth_method:
        api_token = decrypt(existing.api_token_encrypted)
    if not private_key and same_org and existing and existing.auth_method == auth_method:
        private_key = decrypt(existing.private_key_encrypted)
    result = connection_validate(
        org_url=org_url,
        auth_method=auth_method,
        api_token=api_token,
        client_id=client_id,
        private_key=private_key,
        scopes=scopes,
        transport=transport,
    )
    with transaction.atomic():
        conn = OktaConnection.objects.select_for_update().filter(pk=1).first() or OktaConnection(
            pk=1
        )
        conn.org_url = org_url
        conn.auth_method = auth_method
        is_token = auth_method == AuthMethod.API_TOKEN
        conn.api_token_encrypted = encrypt(api_token) if is_token else ""
        conn.client_id = "" if is_token else client_id
        conn.private_key_encrypted = "" if is_token else encrypt(private_key)
        conn.scopes = "" if is_token else " ".join(scopes or settings.OKTA_SCOPES)
        conn.acts_as = result.acts_as
        conn.validated_at = timezone.now()
        conn.updated_by = str(getattr(actor, "username", actor))
        if not same_org:
            conn.event_hook_id = ""
            conn.event_hook_status = ""
            conn.event_hook_secret_encrypted = ""
        conn.save()
        audit_record(
            action="okta.connection.saved",
            actor=actor,
            target_type="okta_connection",
            target_id="1",
            target_label=org_url,
            detail={"auth_method": auth_method, "acts_as": result.acts_as, "client_id": client_id},
        )
    return conn


def hook_secret() -> str:
    """The Authorization value Okta must send to the event hook endpoint ('' = none set)."""
    if settings.OKTA_EVENT_HOOK_SECRET:
        return str(settings.OKTA_EVENT_HOOK_SECRET)
    conn = stored_connection()
    return decrypt(conn.event_hook_secret_encrypted) if conn else ""


def event_hook_register(
    *, actor: Any, site_url: str | None = None, client: OktaClient | None = None
) -> str:
    """Create Gatehouse's event hook in Okta, verify it and activate it; returns its status.

    The secret Okta will send in ``Authorization`` is generated here (unless the environment
    sets OKTA_EVENT_HOOK_SECRET) and stored encrypted before Okta calls back to verify.
    PermissionDenied unless ``actor`` may manage the connection.
    """
    actor_require(actor, MANAGE_CONNECTION)
    url = (site_url or settings.SITE_URL).rstrip("/") + reverse("okta:event_hook")
    secret = settings.OKTA_EVENT_HOOK_SECRET or secrets.token_urlsafe(32)
    with transaction.atomic():
        conn = OktaConnection.objects.select_for_update().filter(pk=1).first()
        if conn is None:
            if not env_configured():
                raise ConnectionSetupError("Connect Okta first.")
            conn = OktaConnection(
                pk=1, org_url=settings.OKTA_ORG_URL, auth_method=AuthMethod.API_TOKEN
            )
        previous_hook = conn.event_hook_id
        if not settings.OKTA_EVENT_HOOK_SECRET:
            conn.event_hook_secret_encrypted = encrypt(secret)
        conn.event_hook_status = "CREATING"
        conn.save()
    own = client is None
    client = client or active_client()
    try:
        if previous_hook:
            client.delete_event_hook(previous_hook)
        hook = client.create_event_hook(
            name=HOOK_NAME, url=url, events=list(HOOK_EVENT_TYPES), auth_value=secret
        )
        hook = client.verify_event_hook(hook.id)
        if hook.status != "ACTIVE":
            hook = client.activate_event_hook(hook.id)
    except OktaError as exc:
        OktaConnection.objects.filter(pk=1).update(event_hook_status="FAILED")
        raise ConnectionSetupError(f"Okta refused the event hook: {exc.message}") from exc
    finally:
        if own:
            client.close()
    status = f"{hook.status} / {hook.verification_status or 'UNVERIFIED'}"
    with transaction.atomic():
        OktaConnection.objects.filter(pk=1).update(event_hook_id=hook.id, event_hook_status=status)
        audit_record(
            action="okta.event_hook.registered",
            actor=actor,
            target_type="okta_event_hook",
            target_id=hook.id,
            target_label=url,
            detail={"status": hook.status, "verification": hook.verification_status},
        )
    return status


def discovery() -> dict[str, Any]:
    """After connecting: who holds admin roles, and which groups look like approver groups."""
    holders = (
        AdminRole.objects.select_related("user")
        .order_by("type", "user__last_name", "user__first_name")
        .values("type", "label", "user_id", "user__login", "user__first_name", "user__last_name")[
            :200
        ]
    )
    hints = ("approver", "admin", "owner", "manager", "security", "it ", "helpdesk")
    suggested = [
        g
        for g in OktaGroup.objects.filter(type="OKTA_GROUP").only("id", "name", "description")[
            :2000
        ]
        if any(h in f" {g.name.lower()} " for h in hints)
    ][:20]
    return {"admin_roles": list(holders), "suggested_groups": suggested}
