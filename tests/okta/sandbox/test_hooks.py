"""Event hooks: create/list/get/update/delete, activate/deactivate, the one-time verification
GET, and at-least-once delivery (with one retry) to a small loopback receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from okta.sandbox.seed import acme_user_id

MAYA = acme_user_id("maya.chen@acme.com")
JOHN = acme_user_id("john.doe@acme.com")
SECRET = "Bearer hook-secret-1"


@dataclass
class Receiver:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    gets: list[dict[str, str]] = field(default_factory=list)
    fail_next_posts: int = 0
    wrong_verification: bool = False

    def wait_for_posts(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.posts


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.gets.append(headers)
            challenge = headers.get("x-okta-verification-challenge", "")
            answer = "wrong" if state.wrong_verification else challenge
            body = json.dumps({"verification": answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            headers = {k.lower(): v for k, v in self.headers.items()}
            failing = state.fail_next_posts > 0
            state.fail_next_posts -= 1 if failing else 0
            state.posts.append({"headers": headers, "body": body, "failed": failing})
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/okta/hooks"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def hook_body(url: str, items: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": "Gatehouse",
        "events": {"type": "EVENT_TYPE", "items": items or ["user.lifecycle.suspend"]},
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": url,
                "headers": [{"key": "X-Other", "value": "yes"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": SECRET},
            },
        },
    }


def test_hooks_create_list_get_update_and_delete(okta: Any) -> None:
    created = okta("POST", "/api/v1/eventHooks", hook_body("http://127.0.0.1:1/x")).body
    assert created["id"].startswith("who")
    assert created["status"] == "ACTIVE"
    assert created["verificationStatus"] == "UNVERIFIED"
    assert "value" not in created["channel"]["config"]["authScheme"]
    hook_id = created["id"]
    assert [h["id"] for h in okta("GET", "/api/v1/eventHooks").body] == [hook_id]
    assert okta("GET", f"/api/v1/eventHooks/{hook_id}").body["name"] == "Gatehouse"
    changed = hook_body("http://127.0.0.1:1/x", ["group.user_membership.add"])
    changed["name"] = "Renamed"
    updated = okta("PUT", f"/api/v1/eventHooks/{hook_id}", changed).body
    assert updated["name"] == "Renamed"
    assert updated["events"]["items"] == ["group.user_membership.add"]
    refused = okta("DELETE", f"/api/v1/eventHooks/{hook_id}")
    assert refused.status == 400
    deactivated = okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/deactivate").body
    assert deactivated["status"] == "INACTIVE"
    assert okta("DELETE", f"/api/v1/eventHooks/{hook_id}").status == 204
    assert okta("GET", f"/api/v1/eventHooks/{hook_id}").status == 404


def test_hooks_create_validates_events_and_uri(okta: Any) -> None:
    not_eligible = okta("POST", "/api/v1/eventHooks", hook_body("http://x/", ["no.such.event"]))
    assert not_eligible.status == 400
    assert not_eligible.body["errorCode"] == "E0000001"
    body = hook_body("ftp://nowhere")
    assert okta("POST", "/api/v1/eventHooks", body).status == 400


def test_hooks_verify_answers_the_challenge(okta: Any, receiver: Receiver) -> None:
    hook_id = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    verified = okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
    assert verified.status == 200
    assert verified.body["verificationStatus"] == "VERIFIED"
    assert len(receiver.gets) == 1
    assert receiver.gets[0]["x-okta-verification-challenge"]
    assert receiver.gets[0]["authorization"] == SECRET


def test_hooks_verify_with_wrong_answer_fails(okta: Any, receiver: Receiver) -> None:
    receiver.wrong_verification = True
    hook_id = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    response = okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"
    assert okta("GET", f"/api/v1/eventHooks/{hook_id}").body["verificationStatus"] == "UNVERIFIED"


def test_hooks_verify_unreachable_endpoint_fails(okta: Any) -> None:
    hook_id = okta("POST", "/api/v1/eventHooks", hook_body("http://127.0.0.1:9/x")).body["id"]
    response = okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
    assert response.status == 400


def test_hooks_deliver_subscribed_events_with_authorization(
    okta: Any, okta_sandbox: Any, receiver: Receiver
) -> None:
    hook_id = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_factors")  # not subscribed
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    posts = receiver.wait_for_posts(1)
    assert len(posts) == 1
    post = posts[0]
    assert post["headers"]["authorization"] == SECRET
    assert post["headers"]["x-other"] == "yes"
    assert post["body"]["eventType"] == "com.okta.event_hook"
    events = post["body"]["data"]["events"]
    assert [e["eventType"] for e in events] == ["user.lifecycle.suspend"]
    assert events[0]["target"][0]["id"] == MAYA
    assert events[0]["uuid"]
    # Deliveries go out in the order of the events: once a later event has arrived, every
    # earlier one that was going to be delivered has been.
    okta("POST", f"/api/v1/users/{JOHN}/lifecycle/suspend")
    later = receiver.wait_for_posts(2)
    assert [[e["target"][0]["id"] for e in p["body"]["data"]["events"]] for p in later] == [
        [MAYA],
        [JOHN],
    ]
    assert okta_sandbox.deliveries()[0]["ok"] is True


def test_hooks_retry_a_failed_delivery_once(
    okta: Any, okta_sandbox: Any, receiver: Receiver
) -> None:
    okta_sandbox.hook_settings(retry_delay_ms=50)
    receiver.fail_next_posts = 1
    hook_id = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    okta("POST", f"/api/v1/eventHooks/{hook_id}/lifecycle/verify")
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    posts = receiver.wait_for_posts(2)
    assert [p["failed"] for p in posts] == [True, False]
    first, second = (p["body"]["data"]["events"][0]["uuid"] for p in posts)
    assert first == second
    assert [d["attempt"] for d in okta_sandbox.deliveries()] == [1, 2]


def test_hooks_inactive_or_unverified_hooks_get_nothing(
    okta: Any, okta_sandbox: Any, receiver: Receiver
) -> None:
    okta("POST", "/api/v1/eventHooks", hook_body(receiver.url))  # never verified
    verified = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    okta("POST", f"/api/v1/eventHooks/{verified}/lifecycle/verify")
    okta("POST", f"/api/v1/eventHooks/{verified}/lifecycle/deactivate")
    # A hook that does get events, created last: the sandbox hands an event to its hooks in
    # the order they were created, so once this one has it the others have had their turn.
    witness = okta("POST", "/api/v1/eventHooks", hook_body(receiver.url)).body["id"]
    okta("POST", f"/api/v1/eventHooks/{witness}/lifecycle/verify")
    okta("POST", f"/api/v1/users/{MAYA}/lifecycle/suspend")
    receiver.wait_for_posts(1)
    assert [p["body"]["source"].rsplit("/", 1)[-1] for p in receiver.posts] == [witness]
    assert [d["hook_id"] for d in okta_sandbox.deliveries()] == [witness]
