"""Audit streaming to real local sinks over real sockets: an HTTPS-style webhook receiver (plain
HTTP on loopback) that checks the signature, and a syslog collector reading RFC 5424 frames."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from audit.models import AuditEvent, AuditStreamCursor
from audit.services import audit_record_many
from audit.streaming import (
    SyslogSink,
    WebhookSink,
    backoff_seconds,
    configured_sinks,
    stream_deliver,
    stream_deliver_all,
    stream_status,
)
from tests.fixtures.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "stream-test-secret"


def events_make(count: int, *, start: int = 0) -> list[int]:
    audit_record_many(
        events=[
            {
                "action": "test.streamed",
                "actor": "tessa.nguyen@acme.com",
                "target_type": "user",
                "target_id": f"00u{start + i}",
                "target_label": f"person {start + i}",
                "outcome": "success" if i % 3 else "denied",
                "detail": {"n": start + i},
            }
            for i in range(count)
        ]
    )
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


# --- a webhook receiver ----------------------------------------------------------------------


@dataclass
class Receiver:
    """Takes JSON Lines POSTs; refuses bad signatures (401) and answers 503 while ``failing``."""

    secret: str
    failing: int = 0  # how many more requests to refuse with 503
    down: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    refused_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.lock:
                receiver.requests += 1
                timestamp = self.headers["X-Gatehouse-Timestamp"]
                wanted = (
                    "v1="
                    + hmac.new(
                        receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                    ).hexdigest()
                )
                if not hmac.compare_digest(wanted, self.headers["X-Gatehouse-Signature"]):
                    receiver.refused_signatures += 1
                    status = 401
                elif receiver.failing > 0 or receiver.down:
                    receiver.failing -= 1
                    status = 503
                else:
                    assert self.headers["Content-Type"].startswith("application/x-ndjson")
                    receiver.received.extend(
                        json.loads(line) for line in body.decode().splitlines()
                    )
                    status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    state = Receiver(secret=SECRET)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AUDIT_STREAM_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/audit"
    settings.AUDIT_STREAM_WEBHOOK_SECRET = SECRET
    settings.AUDIT_STREAM_SYSLOG_URL = ""
    settings.AUDIT_STREAM_BATCH = 100
    yield state
    server.shutdown()
    server.server_close()


def webhook() -> WebhookSink:
    (sink,) = configured_sinks()
    assert isinstance(sink, WebhookSink)
    return sink


def test_webhook_receives_every_event_in_order_signed(receiver: Receiver) -> None:
    ids = events_make(250)

    result = stream_deliver(webhook())

    assert result.delivered == 250 and not result.error
    assert [event["id"] for event in receiver.received] == ids
    assert receiver.requests == 3  # batches of 100
    first = receiver.received[0]
    stored = AuditEvent.objects.get(pk=ids[0])
    assert first["hash"] == stored.hash and first["prev_hash"] == stored.prev_hash
    assert first["action"] == "test.streamed" and first["target_label"] == "person 0"
    cursor = AuditStreamCursor.objects.get(sink="webhook")
    assert cursor.position == ids[-1] and cursor.delivered == 250 and cursor.failures == 0


def test_a_sink_that_fails_for_a_while_gets_every_event_once_it_recovers(
    receiver: Receiver,
) -> None:
    ids = events_make(120)
    receiver.down = True
    now = timezone.now()

    for attempt in range(1, 6):
        result = stream_deliver(webhook(), now=now)
        assert result.claimed and result.delivered == 0
        assert "HTTP 503" in result.error
        cursor = AuditStreamCursor.objects.get(sink="webhook")
        assert cursor.position == 0 and cursor.failures == attempt
        # Held back until the backoff has passed: no request at all in the meantime.
        before = receiver.requests
        assert not stream_deliver(webhook(), now=now + timedelta(seconds=1)).claimed
        assert receiver.requests == before
        now += timedelta(seconds=backoff_seconds(attempt) + 1)

    more = events_make(30, start=120)  # written while the sink was down
    receiver.down = False
    result = stream_deliver(webhook(), now=now)

    assert result.delivered == 150 and not result.error
    assert [event["id"] for event in receiver.received] == more  # all, in order, once
    cursor = AuditStreamCursor.objects.get(sink="webhook")
    assert cursor.failures == 0 and cursor.next_attempt_at is None and cursor.position == more[-1]
    assert ids == more[:120]


def test_a_wrong_secret_is_a_failed_delivery_and_the_cursor_stays(
    receiver: Receiver, settings: Any
) -> None:
    events_make(5)
    settings.AUDIT_STREAM_WEBHOOK_SECRET = "not-the-receivers-secret"

    result = stream_deliver(webhook())

    assert result.delivered == 0 and "HTTP 401" in result.error
    assert receiver.refused_signatures == 1 and receiver.received == []
    assert AuditStreamCursor.objects.get(sink="webhook").position == 0


def test_an_unreachable_sink_keeps_the_cursor(settings: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    settings.AUDIT_STREAM_WEBHOOK_URL = f"http://127.0.0.1:{port}/audit"
    settings.AUDIT_STREAM_WEBHOOK_SECRET = SECRET
    settings.AUDIT_STREAM_SYSLOG_URL = ""
    events_make(3)

    result = stream_deliver(webhook())

    assert result.delivered == 0 and "ConnectionError" in result.error
    cursor = AuditStreamCursor.objects.get(sink="webhook")
    assert cursor.position == 0 and cursor.failures == 1 and cursor.last_error


def test_two_deliveries_at_once_send_each_batch_once(receiver: Receiver) -> None:
    ids = events_make(300)

    results = at_once([lambda: stream_deliver(webhook()), lambda: stream_deliver(webhook())])

    assert sorted(r.delivered for r in results) == [0, 300]
    assert [event["id"] for event in receiver.received] == ids


def test_nothing_new_sends_nothing(receiver: Receiver) -> None:
    events_make(4)
    assert stream_deliver(webhook()).delivered == 4
    requests = receiver.requests

    result = stream_deliver(webhook())

    assert result.claimed and result.delivered == 0 and not result.error
    assert receiver.requests == requests


def test_status_reports_how_far_behind_each_sink_is(receiver: Receiver) -> None:
    ids = events_make(40)
    receiver.down = True
    stream_deliver(webhook())

    (status,) = stream_status()

    assert status.sink == "webhook" and status.position == 0
    assert status.behind == ids[-1] and status.failures == 1 and "503" in status.last_error


# --- configuration ---------------------------------------------------------------------------


def test_no_sink_configured_means_streaming_is_off(settings: Any) -> None:
    settings.AUDIT_STREAM_WEBHOOK_URL = ""
    settings.AUDIT_STREAM_SYSLOG_URL = ""
    events_make(3)

    assert stream_deliver_all() == []
    assert stream_status() == []
    assert not AuditStreamCursor.objects.exists()


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("http://siem.example.com/in", SECRET, "must be https://"),
        ("https://siem.example.com/in", "", "needs AUDIT_STREAM_WEBHOOK_SECRET"),
    ],
)
def test_a_webhook_must_be_https_and_signed(
    settings: Any, url: str, secret: str, message: str
) -> None:
    settings.AUDIT_STREAM_WEBHOOK_URL = url
    settings.AUDIT_STREAM_WEBHOOK_SECRET = secret
    with pytest.raises(ImproperlyConfigured, match=message):
        configured_sinks()


def test_backoff_doubles_up_to_the_ceiling(settings: Any) -> None:
    settings.AUDIT_STREAM_MAX_BACKOFF = 300
    assert [backoff_seconds(n) for n in (1, 2, 3, 8, 9, 40)] == [2, 4, 8, 256, 300, 300]


# --- syslog ----------------------------------------------------------------------------------


@dataclass
class Collector:
    frames: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _frames(data: bytes) -> list[bytes]:
    """Split octet-counted frames (RFC 6587 3.4.1: ``LEN SP MSG``)."""
    frames = []
    while data:
        length, _, rest = data.partition(b" ")
        size = int(length)
        frames.append(rest[:size])
        data = rest[size:]
    return frames


@pytest.fixture
def collector(settings: Any) -> Iterator[tuple[Collector, int]]:
    state = Collector()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            data = self.rfile.read()
            with state.lock:
                state.frames.extend(_frames(data))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings.AUDIT_STREAM_WEBHOOK_URL = ""
    settings.AUDIT_STREAM_SYSLOG_URL = f"tcp://127.0.0.1:{port}"
    settings.SITE_URL = "https://gatehouse.acme.example"
    settings.AUDIT_STREAM_BATCH = 100
    yield state, port
    server.shutdown()
    server.server_close()


def syslog() -> SyslogSink:
    (sink,) = configured_sinks()
    assert isinstance(sink, SyslogSink)
    return sink


def test_syslog_gets_rfc5424_messages_in_order(collector: tuple[Collector, int]) -> None:
    state, _ = collector
    ids = events_make(150)

    result = stream_deliver(syslog())

    assert result.delivered == 150 and not result.error
    assert len(state.frames) == 150
    header, _, message = state.frames[0].partition(b" \xef\xbb\xbf")
    pri_version, stamp, host, app, procid, msgid, sd = header.decode().split(" ")
    event = json.loads(message)
    assert event["id"] == ids[0]
    # facility 13 (log audit); the first event is "denied": severity 4 (warning)
    assert pri_version == "<108>1"
    assert stamp.endswith("Z") and "T" in stamp
    assert (host, app, procid, msgid, sd) == (
        "gatehouse.acme.example",
        "gatehouse",
        "-",
        "test.streamed",
        "-",
    )
    assert state.frames[1].startswith(b"<110>1 ")  # a success: severity 6 (informational)
    assert [json.loads(f.partition(b" \xef\xbb\xbf")[2])["id"] for f in state.frames] == ids


def test_syslog_collector_down_then_up_catches_up(
    collector: tuple[Collector, int], settings: Any
) -> None:
    state, port = collector
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.AUDIT_STREAM_SYSLOG_URL = f"tcp://127.0.0.1:{closed}"
    ids = events_make(20)
    now = timezone.now()

    failed = stream_deliver(syslog(), now=now)
    assert failed.delivered == 0 and failed.error

    settings.AUDIT_STREAM_SYSLOG_URL = f"tcp://127.0.0.1:{port}"
    result = stream_deliver(syslog(), now=now + timedelta(seconds=backoff_seconds(1) + 1))

    assert result.delivered == 20
    assert [json.loads(f.partition(b" \xef\xbb\xbf")[2])["id"] for f in state.frames] == ids


# --- a real worker ---------------------------------------------------------------------------


@pytest.mark.worker
def test_the_worker_streams_the_trail_to_the_webhook(
    receiver: Receiver, settings: Any, celery_var_dir: Any, tmp_path: Any
) -> None:
    """Beat's task, run by a real worker (its own, started with the sink in its environment
    and listening on a queue of its own, so the session's shared worker cannot take it)."""
    from celery import current_app

    from tests.browser.plugin import child_env, child_start, database_url, wait_until

    ids = events_make(230)
    queue = f"stream-test-{os.getpid()}"
    env = child_env(
        DATABASE_URL=database_url(),
        GATEHOUSE_VAR_DIR=str(celery_var_dir),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        AUDIT_STREAM_WEBHOOK_URL=settings.AUDIT_STREAM_WEBHOOK_URL,
        AUDIT_STREAM_WEBHOOK_SECRET=SECRET,
        AUDIT_STREAM_BATCH="100",
    )
    worker = child_start(
        "stream-worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gatehouse.celery",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        env=env,
        log_dir=tmp_path,
    )
    try:
        wait_until(lambda: " ready." in worker.log(), timeout=120, what="the worker", child=worker)
        current_app.send_task("audit.stream_deliver", queue=queue)
        wait_until(
            lambda: len(receiver.received) >= len(ids),
            timeout=60,
            what="the streamed events",
            child=worker,
        )
    finally:
        worker.stop()

    assert [event["id"] for event in receiver.received] == ids
    assert AuditStreamCursor.objects.get(sink="webhook").position == ids[-1]


def test_the_audit_page_says_where_each_sink_stands(
    receiver: Receiver, client: Any, auditor: Any
) -> None:
    events_make(12)
    receiver.down = True
    stream_deliver(webhook())
    client.force_login(auditor)

    page = client.get("/audit/").content.decode()
    assert 'data-sink="webhook"' in page
    assert "Not delivering" in page and "waiting" in page and "HTTP 503" in page

    receiver.down = False
    AuditStreamCursor.objects.update(next_attempt_at=None)
    stream_deliver(webhook())
    page = client.get("/audit/").content.decode()
    assert "Up to date" in page and "Not delivering" not in page


def test_the_audit_page_shows_no_stream_when_none_is_configured(
    settings: Any, client: Any, auditor: Any
) -> None:
    settings.AUDIT_STREAM_WEBHOOK_URL = ""
    settings.AUDIT_STREAM_SYSLOG_URL = ""
    client.force_login(auditor)
    page = client.get("/audit/").content.decode()
    assert "audit-stream" not in page and "Streaming to" not in page
