"""audit_stream: catching a webhook sink up after an outage.

The sink has taken everything up to now; then it is down while ``events`` audit events are
written (an hour of a busy org: 100,000 in the full run, appended with ``audit_seed``). The
benchmark then lets deliveries run until the sink holds every one of them and reports the
throughput (events a second into the sink) and the catch-up time. Deliveries run in this process
with the worker's code path (``stream_deliver`` in a loop, as the task resends itself while
events remain); the receiver is a process of its own that checks every signature and notes
events out of order or twice. Before the first delivery after an outage the sink also waits out
its backoff, at most ``AUDIT_STREAM_MAX_BACKOFF`` (300 s by default): that wait is a setting, not
measured here.
"""

from __future__ import annotations

import json
import socket
import sys
import time
import urllib.request
from typing import Any

from bench.env import BenchEnv

SECRET = "bench-audit-stream"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def run(env: BenchEnv, events: int) -> dict[str, Any]:
    from django.conf import settings

    from audit.models import AuditEvent, AuditStreamCursor
    from audit.streaming import WebhookSink, stream_deliver

    port = _free_port()
    receiver = env.popen(
        [sys.executable, "-m", "bench.sink", "--port", str(port), "--secret", SECRET],
        log_name="audit-sink",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _stats(port)
                break
            except OSError:
                if time.monotonic() > deadline or receiver.poll() is not None:
                    raise RuntimeError("the audit sink did not start") from None
                time.sleep(0.1)
        sink = WebhookSink(url=f"http://127.0.0.1:{port}/audit", secret=SECRET)
        head = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        AuditStreamCursor.objects.filter(sink=sink.name).delete()
        AuditStreamCursor.objects.create(sink=sink.name, position=head)

        started = time.monotonic()
        env.manage("audit_seed", "--count", str(events), timeout=3600)
        written_seconds = time.monotonic() - started
        backlog = AuditEvent.objects.filter(id__gt=head).count()

        started = time.monotonic()
        delivered = 0
        while True:
            result = stream_deliver(sink, budget_seconds=3600)
            if result.error:
                raise RuntimeError(f"delivery failed: {result.error}")
            delivered += result.delivered
            if not result.more and result.delivered == 0:
                break
        seconds = time.monotonic() - started
        stats = _stats(port)
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    return {
        "events": backlog,
        "batch": settings.AUDIT_STREAM_BATCH,
        "write_seconds": round(written_seconds, 1),
        "seconds": round(seconds, 1),
        "events_per_second": round(backlog / seconds) if seconds else None,
        "delivered": delivered,
        "received": stats["events"],
        "lost": backlog - stats["events"],
        "duplicates": stats["duplicates"],
        "out_of_order": stats["out_of_order"],
        "bad_signatures": stats["bad_signatures"],
        "posts": stats["posts"],
    }
