"""The audit writer: every state change in Gatehouse appends its event here, in its transaction.

Appends are serialised so the hash chain never forks: on PostgreSQL a transaction-level advisory
lock taken inside the caller's transaction (held until it commits or rolls back, so keep the
audit call near the end of the transaction); on SQLite the IMMEDIATE transactions configured in
settings already let one writer in at a time. Then one indexed read of the last hash and one
insert. A unique ``prev_hash`` backs this up in the schema.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Min
from django.http import HttpRequest
from django.utils import timezone

from audit.chain import chain_verify, event_hash
from audit.models import GENESIS_HASH, AuditEvent, AuditVerification
from core.dispatch import task_send

# Any 64-bit constant that no other advisory lock in Gatehouse uses ("audit" in ASCII).
AUDIT_APPEND_LOCK = 0x6175646974

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"token|passw|secret|private[_-]?key|api[_-]?key|authori[sz]ation|credential|cookie"
    r"|assertion|(reset|activation|recovery|magic|login).*(url|link)",
    re.IGNORECASE,
)
# A whole value shaped like an Authorization header: scheme + one token-looking word.
_SECRET_VALUE = re.compile(r"^\s*(?:ssws\s*|bearer\s+|basic\s+)[\w.~+/=-]{8,}\s*$", re.IGNORECASE)

_MAX_LENGTHS = {
    field.name: field.max_length for field in AuditEvent._meta.concrete_fields if field.max_length
}


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced by ``"[redacted]"``.

    Keys named like tokens, passwords, secrets, private keys, API keys, authorization headers,
    credentials, cookies, assertions, and reset / activation links lose their values, at any
    depth; so do strings that look like an ``Authorization`` header value (``SSWS …``).
    """
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if _SECRET_KEY.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item) for item in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return REDACTED
    return value


def _text(name: str, value: Any) -> str:
    text = "" if value is None else str(value).replace("\x00", "")
    limit = _MAX_LENGTHS.get(name)
    return text[:limit] if limit else text


def _client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or behind ``AUDIT_TRUSTED_PROXY_COUNT`` proxies the
    X-Forwarded-For entry the outermost trusted proxy saw (entries left of it can be forged)."""
    if request is None:
        return ""
    raw = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "AUDIT_TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            raw = forwarded[-proxies]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return ""
    mapped = getattr(address, "ipv4_mapped", None)  # "::ffff:10.0.0.7" is 10.0.0.7
    return str(mapped or address)


def _actor_fields(actor: Any) -> tuple[str, str]:
    if actor is None:
        return "system", ""
    if isinstance(actor, str):
        return actor, ""
    username = getattr(actor, "username", None)
    if username is None:
        return str(actor), ""
    return str(username) or "anonymous", str(getattr(actor, "okta_id", "") or "")


def _event_fields(
    *,
    action: str,
    actor: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    outcome: str = "success",
    detail: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    if not action:
        raise ValueError("an audit event needs an action")
    actor_name, actor_okta_id = _actor_fields(actor)
    user_agent = request.headers.get("User-Agent", "") if request is not None else ""
    # Stored exactly as hashed: JSON-native values only, secrets gone.
    clean_detail = json.loads(json.dumps(redact(detail or {}), cls=DjangoJSONEncoder))
    return {
        "occurred_at": timezone.now(),
        "action": _text("action", action),
        "actor": _text("actor", actor_name),
        "actor_okta_id": _text("actor_okta_id", actor_okta_id),
        "target_type": _text("target_type", target_type),
        "target_id": _text("target_id", target_id),
        "target_label": _text("target_label", target_label),
        "outcome": _text("outcome", outcome),
        "ip": _client_ip(request),
        "user_agent": _text("user_agent", user_agent),
        "detail": clean_detail,
    }


# How to name targets that writers give by id alone (okta.operations: "group 00g…"): one
# function per target type, taking ids and answering {id: name}. The apps that own those objects
# register them when they load (okta/apps.py), as audit sits below them.
TargetNamer = Callable[[set[str]], dict[str, str]]
_target_namers: dict[str, TargetNamer] = {}


def target_namer_register(target_type: str, namer: TargetNamer) -> None:
    _target_namers[target_type] = namer


def _name_okta_targets(prepared: list[dict[str, Any]]) -> None:
    """Give events about an Okta user, group or app the directory mirror's name at the time of
    writing (and, for a membership, the person's), so the trail reads by name even after the
    object is renamed or deleted. Events with a label keep it. One query per kind, at most."""
    wanted: dict[str, set[str]] = {kind: set() for kind in _target_namers}
    unnamed = [
        fields
        for fields in prepared
        if not fields["target_label"]
        and fields["target_type"] in _target_namers
        and fields["target_id"]
    ]
    for fields in unnamed:
        wanted[fields["target_type"]].add(fields["target_id"])
        member = fields["detail"].get("user_id")
        if fields["target_type"] != "user" and isinstance(member, str) and member:
            wanted.setdefault("user", set()).add(member)
    if not unnamed:
        return
    names = {
        kind: _target_namers[kind](ids) if ids and kind in _target_namers else {}
        for kind, ids in wanted.items()
    }
    for fields in unnamed:
        name = names[fields["target_type"]].get(fields["target_id"])
        if not name:
            continue
        member = names.get("user", {}).get(str(fields["detail"].get("user_id") or ""))
        if fields["target_type"] != "user" and member:
            name = f"{name} · {member}"
        fields["target_label"] = _text("target_label", name)


def chain_head_for_append() -> str:
    """Take the append lock (PostgreSQL) and return the hash the next event chains to."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_APPEND_LOCK])
    head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return head or GENESIS_HASH


def audit_record(
    *,
    action: str,
    actor: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to the audit trail; call it inside the transaction of the change.

    ``actor`` is a user (its username and Okta id are copied as text), a string such as
    ``"system"`` or ``"okta"``, or None for the system. ``request`` supplies IP and user agent.
    ``detail`` is redacted (see ``redact``) before it is stored.
    """
    fields = _event_fields(
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        outcome=outcome,
        detail=detail,
        request=request,
    )
    _name_okta_targets([fields])
    # Joins the caller's transaction; outside one it makes its own, so the lock is held
    # from the read of the head to the commit of the insert.
    with transaction.atomic(savepoint=False):
        prev_hash = chain_head_for_append()
        event = AuditEvent(**fields, prev_hash=prev_hash, hash=event_hash(fields, prev_hash))
        event.save(force_insert=True)
    return event


def audit_record_many(
    *,
    events: Iterable[Mapping[str, Any]],
    request: HttpRequest | None = None,
    batch_size: int = 1000,
) -> list[AuditEvent]:
    """Append many events in one transaction, chained in the order given.

    Each item holds the keyword arguments of ``audit_record`` (``action`` required; ``request``
    may be given per item or once for all). One lock, one read and one bulk insert per batch.
    """
    prepared = [_event_fields(**{"request": request, **dict(item)}) for item in events]
    if not prepared:
        return []
    _name_okta_targets(prepared)
    with transaction.atomic(savepoint=False):
        prev_hash = chain_head_for_append()
        rows = []
        for fields in prepared:
            digest = event_hash(fields, prev_hash)
            rows.append(AuditEvent(**fields, prev_hash=prev_hash, hash=digest))
            prev_hash = digest
        return AuditEvent.objects.bulk_create(rows, batch_size=batch_size)


VIEW_PERMISSION = "audit.view_auditevent"
EXPORT_PERMISSION = "audit.export_auditevent"


def _require_permission(actor: Any, permission: str) -> None:
    if not getattr(actor, "has_perm", None) or not actor.has_perm(permission):
        raise PermissionDenied(f"{actor} lacks {permission}")


def verification_start(*, actor: Any) -> AuditVerification:
    """Check the chain for ``actor`` (an auditor or admin): at once when the trail is small
    (``AUDIT_VERIFY_SYNC_LIMIT`` events, default 20,000), otherwise in a Celery task queued
    after commit. The finished run is recorded as an ``audit.verified`` event."""
    _require_permission(actor, VIEW_PERMISSION)
    span = AuditEvent.objects.aggregate(first=Min("id"), last=Max("id"))
    size = span["last"] - span["first"] + 1 if span["last"] is not None else 0
    verification = AuditVerification.objects.create(requested_by=_actor_fields(actor)[0])
    if size <= settings.AUDIT_VERIFY_SYNC_LIMIT:
        verification_run(verification_id=verification.pk)
        verification.refresh_from_db()
    else:
        transaction.on_commit(partial(task_send, "audit.verify_chain", verification.pk))
    return verification


def verification_run(*, verification_id: int) -> AuditVerification | None:
    """Run a pending verification; a second call for the same one does nothing (returns None)."""
    claimed = AuditVerification.objects.filter(
        pk=verification_id, status=AuditVerification.Status.PENDING
    ).update(status=AuditVerification.Status.RUNNING)
    if not claimed:
        return None
    verification = AuditVerification.objects.get(pk=verification_id)
    try:
        report = chain_verify()
    except DatabaseError as exc:
        AuditVerification.objects.filter(pk=verification_id).update(
            status=AuditVerification.Status.ERROR,
            finished_at=timezone.now(),
            message=f"The check could not finish: {exc}",
        )
        raise
    status = AuditVerification.Status.PASSED if report.ok else AuditVerification.Status.BROKEN
    message = (
        f"{report.checked} events verified; the chain is intact."
        if report.ok
        else f"Broken at event {report.broken_id}: {report.problem}."
    )
    with transaction.atomic():
        AuditVerification.objects.filter(pk=verification_id).update(
            status=status,
            finished_at=timezone.now(),
            checked=report.checked,
            head_id=report.head_id,
            head_hash=report.head_hash,
            broken_id=report.broken_id,
            message=message,
        )
        audit_record(
            action="audit.verified",
            actor=verification.requested_by or None,
            target_type="audit_trail",
            target_id=str(verification_id),
            target_label="Audit trail",
            outcome="success" if report.ok else "failure",
            detail={
                "checked": report.checked,
                "head_id": report.head_id,
                "head_hash": report.head_hash,
                "broken_id": report.broken_id,
                "problem": report.problem,
            },
        )
    verification.refresh_from_db()
    return verification
