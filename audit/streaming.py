"""Audit streaming: every audit event delivered, at least once and in order, to each configured
sink (a SIEM's HTTPS webhook, a syslog collector).

The trail itself is the outbox. Each sink has a cursor (``AuditStreamCursor``): the id of the
last event it acknowledged. A delivery claims the cursor with a conditional UPDATE (a lease, so
one process delivers to a sink at a time and a killed one's lease runs out), reads the next
batch after the cursor in id order, sends it, and only then moves the cursor. A sink that fails
keeps its cursor; the next attempt waits a backoff that doubles up to ``AUDIT_STREAM_MAX_BACKOFF``,
then sends the same batch again. Nothing is lost however long a sink is down: the events stay in
the trail and the cursor says where to resume. Receivers deduplicate by the event ``id`` (a batch
sent again after a lost acknowledgement arrives twice).

Event ids follow commit order: appends are serialised (audit.services), so a cursor never passes
an event that commits later.

Sinks are configured by environment variables (gatehouse/settings.py, docs/audit.md); with none
set, streaming is off and nothing runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F
from django.utils import timezone

from audit.chain import EVENT_COLUMNS, canonical_time
from audit.models import AuditEvent, AuditStreamCursor

log = logging.getLogger(__name__)

# What each streamed event carries: the JSON Lines export's columns (the same shape an auditor
# downloads), with the chain's hashes so a receiver can verify the order it got.
STREAM_COLUMNS = EVENT_COLUMNS
LEASE_SECONDS = 120


class SinkError(Exception):
    """The sink did not take the batch (unreachable, refused, timed out, answered non-2xx)."""


class Sink(Protocol):
    name: str

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        """Deliver ``events`` (in order) or raise SinkError."""


def event_json(event: dict[str, Any]) -> str:
    values = dict(event)
    values["occurred_at"] = canonical_time(values["occurred_at"])
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# --- HTTPS webhook ---------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``timestamp.body`` under the shared secret: what the
    ``X-Gatehouse-Signature`` header carries. A receiver recomputes it, compares in constant
    time, and refuses timestamps far from its clock (replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass
class WebhookSink:
    """POSTs each batch as JSON Lines (``application/x-ndjson``), HMAC-signed."""

    url: str
    secret: str
    timeout: float = 10.0
    name: str = "webhook"

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        body = "".join(event_json(event) + "\n" for event in events).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-ndjson; charset=utf-8",
            "User-Agent": "Gatehouse audit stream",
            "X-Gatehouse-Timestamp": timestamp,
            "X-Gatehouse-Signature": webhook_signature(self.secret, timestamp, body),
            "X-Gatehouse-Events": f"{events[0]['id']}-{events[-1]['id']}",
        }
        try:
            response = requests.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SinkError(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise SinkError(f"HTTP {response.status_code}: {response.text[:200]}")


# --- syslog (RFC 5424 over TCP or TLS, octet-counted frames as RFC 6587 and RFC 5425 say) ------

# RFC 5424 facility 13 is "log audit"; severity 6 informational, 4 warning (refused or failed).
FACILITY_LOG_AUDIT = 13
SEVERITY = {"success": 6}
SEVERITY_OTHER = 4
_NILVALUE = "-"


def _printable(text: str, limit: int) -> str:
    """RFC 5424 header fields are printable US-ASCII without spaces."""
    cleaned = "".join(ch for ch in text if 33 <= ord(ch) <= 126)
    return cleaned[:limit] or _NILVALUE


def syslog_message(event: dict[str, Any], *, hostname: str, app_name: str = "gatehouse") -> bytes:
    """One RFC 5424 message: header, no structured data, the event as UTF-8 JSON (with BOM)."""
    pri = FACILITY_LOG_AUDIT * 8 + SEVERITY.get(event["outcome"], SEVERITY_OTHER)
    header = " ".join(
        [
            f"<{pri}>1",
            canonical_time(event["occurred_at"]).replace("+00:00", "Z"),
            _printable(hostname, 255),
            _printable(app_name, 48),
            _NILVALUE,  # PROCID
            _printable(event["action"], 32),  # MSGID
            _NILVALUE,  # STRUCTURED-DATA
        ]
    )
    return header.encode("ascii") + b" \xef\xbb\xbf" + event_json(event).encode()


@dataclass
class SyslogSink:
    """``tcp://host:port`` or ``tls://host:port``. A batch is delivered when every frame has been
    written to an open connection (syslog has no acknowledgement; TCP's is what there is)."""

    url: str
    hostname: str
    timeout: float = 10.0
    name: str = "syslog"

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
            raise SinkError(
                f"syslog address must be tcp://host:port or tls://host:port: {self.url}"
            )
        frames = b"".join(
            b"%d %s" % (len(message), message)
            for message in (syslog_message(event, hostname=self.hostname) for event in events)
        )
        try:
            with socket.create_connection((parts.hostname, parts.port), self.timeout) as raw:
                if parts.scheme == "tls":
                    context = ssl.create_default_context()
                    with context.wrap_socket(raw, server_hostname=parts.hostname) as wrapped:
                        wrapped.sendall(frames)
                else:
                    raw.sendall(frames)
                    raw.shutdown(socket.SHUT_WR)
                    _await_close(raw)
        except OSError as exc:
            raise SinkError(f"{type(exc).__name__}: {exc}") from exc


def _await_close(connection: socket.socket) -> None:
    """After our end is shut, wait for the collector to close its own: it has then read every
    frame (collectors close a connection the client has finished). One that keeps it open is
    given the timeout, then the batch counts as delivered, as written."""
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        log.debug("syslog collector kept the connection open; the batch counts as written")


# --- configuration ---------------------------------------------------------------------------


def _loopback(host: str | None) -> bool:
    return host in ("127.0.0.1", "::1", "localhost")


def configured_sinks() -> list[Sink]:
    """The sinks the settings name (none: streaming is off)."""
    sinks: list[Sink] = []
    url = settings.AUDIT_STREAM_WEBHOOK_URL
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise ImproperlyConfigured(
                "AUDIT_STREAM_WEBHOOK_URL must be https:// (plain http only to this machine)"
            )
        if not settings.AUDIT_STREAM_WEBHOOK_SECRET:
            raise ImproperlyConfigured("AUDIT_STREAM_WEBHOOK_URL needs AUDIT_STREAM_WEBHOOK_SECRET")
        sinks.append(WebhookSink(url=url, secret=settings.AUDIT_STREAM_WEBHOOK_SECRET))
    if settings.AUDIT_STREAM_SYSLOG_URL:
        hostname = urlsplit(settings.SITE_URL).hostname or socket.gethostname()
        sinks.append(SyslogSink(url=settings.AUDIT_STREAM_SYSLOG_URL, hostname=hostname))
    return sinks


# --- delivery --------------------------------------------------------------------------------


def backoff_seconds(failures: int) -> float:
    """Seconds before attempt ``failures + 1``: 2, 4, 8 … up to the configured ceiling."""
    ceiling = float(settings.AUDIT_STREAM_MAX_BACKOFF)
    return min(ceiling, 2.0 ** min(failures, 30))


def _cursor(sink: Sink) -> AuditStreamCursor:
    cursor, _ = AuditStreamCursor.objects.get_or_create(sink=sink.name)
    return cursor


def _claim(sink: Sink, now: datetime) -> str | None:
    """Take the sink's lease if it is free and its backoff has passed; the lease token."""
    _cursor(sink)
    token = secrets.token_hex(8)
    claimed = (
        AuditStreamCursor.objects.filter(sink=sink.name)
        .exclude(lease_until__gt=now)
        .exclude(next_attempt_at__gt=now)
        .update(lease_token=token, lease_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return token if claimed else None


def _batch(after: int, size: int) -> list[dict[str, Any]]:
    return list(
        AuditEvent.objects.filter(id__gt=after).order_by("id").values(*STREAM_COLUMNS)[:size]
    )


@dataclass
class DeliveryResult:
    sink: str
    delivered: int = 0
    claimed: bool = False
    error: str = ""
    more: bool = False


def stream_deliver(
    sink: Sink, *, now: datetime | None = None, budget_seconds: float = 20.0
) -> DeliveryResult:
    """Deliver what the sink has not acknowledged yet, batch by batch, for up to
    ``budget_seconds``. ``more`` says events remain (the caller sends the task again)."""
    now = now or timezone.now()
    result = DeliveryResult(sink=sink.name)
    token = _claim(sink, now)
    if token is None:
        return result
    result.claimed = True
    mine = AuditStreamCursor.objects.filter(sink=sink.name, lease_token=token)
    started = time.monotonic()
    size = int(settings.AUDIT_STREAM_BATCH)
    position = mine.values_list("position", flat=True).get()
    try:
        while True:
            events = _batch(position, size)
            if not events:
                break
            try:
                sink.send(events)
            except SinkError as exc:
                result.error = str(exc)
                failures = mine.values_list("failures", flat=True).get() + 1
                mine.update(
                    failures=failures,
                    last_error=result.error[:500],
                    last_failure_at=timezone.now(),
                    next_attempt_at=now + timedelta(seconds=backoff_seconds(failures)),
                )
                log.warning(
                    "audit stream %s: events after %s not delivered (attempt %s): %s",
                    sink.name,
                    position,
                    failures,
                    result.error,
                )
                return result
            position = events[-1]["id"]
            result.delivered += len(events)
            mine.update(
                position=position,
                delivered=F("delivered") + len(events),
                failures=0,
                last_error="",
                last_success_at=timezone.now(),
                next_attempt_at=None,
                lease_until=timezone.now() + timedelta(seconds=LEASE_SECONDS),
            )
            if len(events) < size:
                break
            if time.monotonic() - started > budget_seconds:
                result.more = True
                break
    finally:
        mine.update(lease_token="", lease_until=None)
    return result


def stream_deliver_all(
    sinks: Iterable[Sink] | None = None, *, now: datetime | None = None
) -> list[DeliveryResult]:
    """One delivery pass over every configured sink (what beat's task runs)."""
    return [
        stream_deliver(sink, now=now) for sink in (configured_sinks() if sinks is None else sinks)
    ]


@dataclass
class SinkStatus:
    sink: str
    position: int
    behind: int
    delivered: int
    failures: int
    last_error: str
    last_success_at: datetime | None
    next_attempt_at: datetime | None


def stream_status() -> list[SinkStatus]:
    """Where each configured sink stands: for the audit page and the health of the stream."""
    sinks = configured_sinks()
    if not sinks:
        return []
    cursors = {
        c.sink: c for c in AuditStreamCursor.objects.filter(sink__in=[s.name for s in sinks])
    }
    head = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    statuses = []
    for sink in sinks:
        cursor = cursors.get(sink.name) or AuditStreamCursor(sink=sink.name)
        behind = max(0, head - cursor.position)  # ids may skip (rolled back): at most this
        statuses.append(
            SinkStatus(
                sink=sink.name,
                position=cursor.position,
                behind=behind,
                delivered=cursor.delivered,
                failures=cursor.failures,
                last_error=cursor.last_error,
                last_success_at=cursor.last_success_at,
                next_attempt_at=cursor.next_attempt_at,
            )
        )
    return statuses
