"""A local audit-stream receiver for ``audit_stream``: ``python -m bench.sink --port P --secret S``.

It checks each POST's signature as a SIEM would, counts the events, and notes any that arrive
out of order or twice; ``GET /stats`` answers what it has seen. It runs in its own process so it
does not share the deliverer's interpreter."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts = 0
        self.events = 0
        self.seen: set[int] = set()
        self.last_id = 0
        self.out_of_order = 0
        self.duplicates = 0
        self.bad_signatures = 0

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("lock", "seen")}


def handler(stats: Stats, secret: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with stats.lock:
                self._answer(200, json.dumps(stats.as_json()).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers.get("X-Gatehouse-Timestamp", "")
            wanted = (
                "v1=" + hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            )
            with stats.lock:
                if not hmac.compare_digest(wanted, self.headers.get("X-Gatehouse-Signature", "")):
                    stats.bad_signatures += 1
                    self._answer(401)
                    return
                stats.posts += 1
                for line in body.splitlines():
                    event_id = json.loads(line)["id"]
                    if event_id in stats.seen:
                        stats.duplicates += 1
                        continue
                    if event_id < stats.last_id:
                        stats.out_of_order += 1
                    stats.seen.add(event_id)
                    stats.last_id = max(stats.last_id, event_id)
                    stats.events += 1
            self._answer(200)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Stats(), args.secret.encode()))
    print(f"listening on {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
