"""A small local Slack for tests and the demo: the Web API methods Gatehouse calls, and the
interaction POSTs Slack sends back when someone clicks a button.

Behaviour follows Slack's published Web API documentation:

- Every method answers HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``.
  The bot token comes as ``Authorization: Bearer``: none is ``not_authed``, another one
  ``invalid_auth``. Arguments come as a query string, a form or a JSON body.
- ``auth.test``: the team and the bot user.
- ``users.lookupByEmail``: the user, or ``users_not_found``.
- ``chat.postMessage``: ``channel`` is a channel id or a user id (the app's DM with them, a
  ``D...`` id); ``text`` or ``blocks`` is required (``no_text``); ``channel_not_found``;
  answers ``channel``, ``ts`` and ``message``.
- ``chat.update``: ``channel`` and ``ts`` of a message the bot posted (``message_not_found``,
  ``cant_update_message`` for another's); answers ``channel``, ``ts``, ``text``.
- Interactions: a ``block_actions`` payload, JSON in the form field ``payload``, POSTed as
  ``application/x-www-form-urlencoded`` with ``X-Slack-Request-Timestamp`` and
  ``X-Slack-Signature: v0=HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")``.

Teams: ``POST /teams/webhook/{name}`` takes what a channel's incoming webhook (Workflows)
takes, a ``{"type": "message", "attachments": [...]}`` with Adaptive Cards, and answers 202;
anything else is 400. ``/__emulator__/teams`` lists what arrived; ``/__emulator__/teams/fail``
makes the next posts fail with a status (an outage).

The control API (``/__emulator__/``, loopback only) lists users and messages, "clicks" a
button (optionally forged, stale, or as another user), replays a sent interaction, resets; ``/``
is an HTML page of every message with its buttons, for the demo.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import itertools
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

TEAM_ID = "T0ACME0001"
BOT_USER_ID = "U0GATEHOUSE"
BOT_ID = "B0GATEHOUSE"


@dataclass
class User:
    id: str
    email: str
    name: str
    real_name: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": False,
            "profile": {"email": self.email, "real_name": self.real_name},
        }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    user: str  # the DM's other party
    bot_id: str = BOT_ID
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "user": self.user,
            "updates": len(self.history),
            "history": self.history,
        }


def acme_users() -> list[User]:
    """The acme org's people (okta/sandbox/seed.py), each a Slack user with their email."""
    from okta.sandbox.seed import build

    org = build("acme", "http://127.0.0.1")
    users = []
    for obj in org.users.values():
        profile = obj["profile"]
        digest = hashlib.sha256(profile["email"].lower().encode()).hexdigest()[:9].upper()
        users.append(
            User(
                id=f"U{digest}",
                email=profile["email"],
                name=profile["login"].split("@")[0],
                real_name=f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip(),
            )
        )
    return users


class Slack:
    def __init__(
        self, *, token: str, signing_secret: str, interactions_url: str, users: list[User]
    ) -> None:
        self.token = token
        self.signing_secret = signing_secret
        self.interactions_url = interactions_url
        self.seed_users = list(users)
        self.lock = threading.Lock()
        self.reset()

    def add_user(self, email: str, real_name: str = "") -> User:
        digest = hashlib.sha256(email.lower().encode()).hexdigest()[:9].upper()
        user = User(
            id=f"U{digest}", email=email, name=email.split("@")[0], real_name=real_name or email
        )
        with self.lock:
            self.users[user.id] = user
            self.by_email[email.lower()] = user
        return user

    def reset(self) -> None:
        """Back to the start: the seed's users, no messages, interactions or calls."""
        with self.lock:
            self.users = {u.id: u for u in self.seed_users}
            self.by_email = {u.email.lower(): u for u in self.seed_users}
            self.messages: dict[tuple[str, str], Message] = {}
            self.dms: dict[str, str] = {}  # user id -> DM channel id
            self.clock = itertools.count(1)
            self.calls: list[dict[str, Any]] = []
            self.interactions: list[dict[str, Any]] = []
            self.teams: list[dict[str, Any]] = []
            self.teams_failures: list[int] = []  # statuses the next Teams posts get

    # --- Web API ------------------------------------------------------------------------
    def call(self, method: str, auth: str, args: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append({"method": method, "args": args})
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return {"ok": False, "error": "not_authed"}
        if not hmac.compare_digest(auth[7:].strip(), self.token):
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(args)
        return result

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "gatehouse",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        if not email:
            return {"ok": False, "error": "invalid_arguments"}
        user = self.by_email.get(email)
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": user.as_json()}

    def _blocks(self, args: dict[str, Any]) -> list[Any] | None:
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return None
        return blocks if isinstance(blocks, list) else [] if blocks is None else None

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        text = str(args.get("text") or "")
        blocks = self._blocks(args)
        if blocks is None:
            return {"ok": False, "error": "invalid_blocks"}
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        with self.lock:
            if channel in self.users:
                user = channel
                channel = self.dms.setdefault(user, "D" + user[1:])
            elif channel in self.dms.values():
                user = next(u for u, d in self.dms.items() if d == channel)
            else:
                return {"ok": False, "error": "channel_not_found"}
            ts = f"{int(time.time())}.{next(self.clock):06d}"
            message = Message(channel=channel, ts=ts, text=text, blocks=blocks, user=user)
            self.messages[(channel, ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"type": "message", "bot_id": BOT_ID, "text": text, "blocks": blocks},
        }

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        blocks = self._blocks(args)
        if blocks is None:
            return {"ok": False, "error": "invalid_blocks"}
        with self.lock:
            message = self.messages.get((channel, ts))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            if message.bot_id != BOT_ID:
                return {"ok": False, "error": "cant_update_message"}
            text = str(args.get("text") or "")
            if not text and not blocks:
                return {"ok": False, "error": "no_text"}
            message.history.append({"text": message.text, "blocks": message.blocks})
            message.text = text
            if "blocks" in args:  # without blocks, Slack keeps the message's previous ones
                message.blocks = blocks
        return {"ok": True, "channel": channel, "ts": ts, "text": text}

    # --- interactions -------------------------------------------------------------------
    def sign(self, timestamp: str, body: str, secret: str | None = None) -> str:
        key = (secret if secret is not None else self.signing_secret).encode()
        digest = hmac.new(key, f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def payload_for(
        self, message: Message, action_id: str, as_user: str, original: bool = False
    ) -> dict[str, Any]:
        action = None
        blocks = message.history[0]["blocks"] if original and message.history else message.blocks
        for block in blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    action = {**element, "block_id": block.get("block_id", "")}
        if action is None:
            raise LookupError(f"the message has no live {action_id!r} button")
        user = self.users.get(as_user)
        return {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {
                "id": as_user,
                "username": user.name if user else as_user,
                "name": user.name if user else as_user,
                "team_id": TEAM_ID,
            },
            "api_app_id": "A0GATEHOUSE",
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{int(time.time())}.{TEAM_ID}.emulated",
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": {"type": "message", "ts": message.ts, "text": message.text},
            "response_url": "",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": action["block_id"],
                    "value": action.get("value", ""),
                    "text": action.get("text", {}),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def click(self, spec: dict[str, Any]) -> dict[str, Any]:
        """POST an interaction for a click on message (channel, ts)'s ``action_id`` button.
        ``as_user`` (default: the DM's recipient); ``forge``: "signature" (signed with another
        secret), "body" (the body changed after signing), "stale" (a timestamp 10 minutes old),
        "unsigned"; ``payload_patch``: keys merged into the payload (e.g. another button value);
        ``original``: click the message as first posted (a client still showing it)."""
        message = self.messages.get((str(spec.get("channel")), str(spec.get("ts"))))
        if message is None:
            raise LookupError("no such message")
        payload = self.payload_for(
            message,
            str(spec.get("action_id", "approve")),
            str(spec.get("as_user") or message.user),
            original=bool(spec.get("original")),
        )
        for key, value in (spec.get("payload_patch") or {}).items():
            payload[key] = value
        forge = spec.get("forge") or ""
        timestamp = str(int(time.time()) - (600 if forge == "stale" else 0))
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        signature = self.sign(timestamp, body, "not-the-secret" if forge == "signature" else None)
        if forge == "body":
            tampered = json.loads(json.dumps(payload))
            tampered["actions"][0]["action_id"] = (
                "deny" if payload["actions"][0]["action_id"] == "approve" else "approve"
            )
            body = urllib.parse.urlencode({"payload": json.dumps(tampered)})
        headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
        if forge == "unsigned":
            headers = {}
        return self.deliver(body, headers)

    def deliver(self, body: str, headers: dict[str, str]) -> dict[str, Any]:
        if not self.interactions_url.startswith(("http://", "https://")):
            raise LookupError("the interactions URL must be http(s)")
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            self.interactions_url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except OSError as exc:
            status, raw = 0, str(exc).encode()
        sent = {"body": body, "headers": headers}
        record = {"status": status, "answer": raw.decode(errors="replace"), "sent": sent}
        with self.lock:
            self.interactions.append(record)
        return record


def _loopback(request: Request) -> bool:
    return request.client is not None and request.client.host in ("127.0.0.1", "::1", "localhost")


async def _args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(_form(await request.body()))
    return args


def build_app(slack: Slack) -> Starlette:
    async def api(request: Request) -> Response:
        args = await _args(request)
        method = request.path_params["method"]
        return JSONResponse(slack.call(method, request.headers.get("authorization", ""), args))

    def refuse_remote(request: Request) -> Response | None:
        return None if _loopback(request) else JSONResponse({"error": "loopback only"}, 403)

    async def control_messages(request: Request) -> Response:
        return refuse_remote(request) or JSONResponse(
            [m.as_json() for m in slack.messages.values()]
        )

    async def control_users(request: Request) -> Response:
        return refuse_remote(request) or JSONResponse([u.as_json() for u in slack.users.values()])

    async def control_interactions(request: Request) -> Response:
        return refuse_remote(request) or JSONResponse(slack.interactions)

    async def control_calls(request: Request) -> Response:
        return refuse_remote(request) or JSONResponse(slack.calls)

    async def teams_webhook(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        with slack.lock:
            if slack.teams_failures:
                return Response("Service unavailable", slack.teams_failures.pop(0))
        attachments = body.get("attachments") if isinstance(body, dict) else None
        cards_ok = isinstance(attachments, list) and all(
            isinstance(a, dict)
            and a.get("contentType") == "application/vnd.microsoft.card.adaptive"
            and isinstance(a.get("content"), dict)
            and a["content"].get("type") == "AdaptiveCard"
            for a in attachments
        )
        if not (
            isinstance(body, dict) and body.get("type") == "message" and attachments and cards_ok
        ):
            return Response("Bad payload received by generic incoming webhook.", 400)
        with slack.lock:
            slack.teams.append({"webhook": request.path_params["name"], "message": body})
        return Response(status_code=202)

    async def control_teams(request: Request) -> Response:
        return refuse_remote(request) or JSONResponse(slack.teams)

    async def control_teams_fail(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        spec = await _json(request)
        with slack.lock:
            slack.teams_failures = [int(spec.get("status", 503))] * int(spec.get("count", 1))
        return JSONResponse({"failing": len(slack.teams_failures)})

    async def control_add_user(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        spec = await _json(request)
        email = str(spec.get("email") or "")
        if "@" not in email:
            return JSONResponse({"error": "an email is needed"}, 400)
        return JSONResponse(slack.add_user(email, str(spec.get("real_name") or "")).as_json())

    async def control_config(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        spec = await _json(request)
        if spec.get("interactions_url"):
            slack.interactions_url = str(spec["interactions_url"])
        return JSONResponse({"interactions_url": slack.interactions_url})

    async def control_reset(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        slack.reset()
        return JSONResponse({"ok": True})

    async def control_click(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        spec = await _json(request)
        try:
            # in a thread: the click POSTs to Gatehouse, which must not hold the event loop
            return JSONResponse(await anyio.to_thread.run_sync(slack.click, spec))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, 404)

    async def control_replay(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        sent = (await _json(request)).get("sent") or {}
        return JSONResponse(
            await anyio.to_thread.run_sync(
                slack.deliver, str(sent.get("body", "")), dict(sent.get("headers", {}))
            )
        )

    async def page_click(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        form = _form(await request.body())
        spec = {k: form.get(k) for k in ("channel", "ts", "action_id")}
        with contextlib.suppress(LookupError):  # a button no longer there: show the page again
            await anyio.to_thread.run_sync(slack.click, spec)
        return RedirectResponse("/", status_code=303)

    async def page(request: Request) -> Response:
        if (refused := refuse_remote(request)) is not None:
            return refused
        return HTMLResponse(render_page(slack))

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/__emulator__/messages", control_messages),
            Route("/__emulator__/users", control_users),
            Route("/__emulator__/interactions", control_interactions),
            Route("/__emulator__/calls", control_calls),
            Route("/teams/webhook/{name}", teams_webhook, methods=["POST"]),
            Route("/__emulator__/teams", control_teams),
            Route("/__emulator__/teams/fail", control_teams_fail, methods=["POST"]),
            Route("/__emulator__/users/add", control_add_user, methods=["POST"]),
            Route("/__emulator__/config", control_config, methods=["GET", "POST"]),
            Route("/__emulator__/reset", control_reset, methods=["POST"]),
            Route("/__emulator__/click", control_click, methods=["POST"]),
            Route("/__emulator__/replay", control_replay, methods=["POST"]),
            Route("/click", page_click, methods=["POST"]),
            Route("/", page),
        ]
    )


def _form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the first value of each field)."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(errors="replace")).items()}


async def _json(request: Request) -> dict[str, Any]:
    try:
        parsed = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _mrkdwn(text: str) -> str:
    """Slack's mrkdwn, enough for the page: *bold*, escaped entities kept escaped."""
    shown = html.escape(html.unescape(text))
    out = []
    for i, part in enumerate(shown.split("*")):
        out.append(f"<b>{part}</b>" if i % 2 else part)
    return "".join(out).replace("\n", "<br>")


def render_page(slack: Slack) -> str:
    rows = []
    for message in reversed(list(slack.messages.values())):
        user = slack.users.get(message.user)
        parts = []
        for block in message.blocks or [{"type": "section", "text": {"text": message.text}}]:
            if block.get("type") == "section":
                parts.append(f"<p>{_mrkdwn(block.get('text', {}).get('text', ''))}</p>")
            elif block.get("type") == "context":
                texts = " ".join(_mrkdwn(e.get("text", "")) for e in block.get("elements", []))
                parts.append(f"<p class='outcome'>{texts}</p>")
            elif block.get("type") == "actions":
                buttons = []
                for element in block.get("elements", []):
                    label = html.escape(element.get("text", {}).get("text", ""))
                    if element.get("url"):
                        buttons.append(f"<a href='{html.escape(element['url'])}'>{label}</a>")
                        continue
                    buttons.append(
                        "<form method='post' action='/click'>"
                        f"<input type='hidden' name='channel' value='{html.escape(message.channel)}'>"
                        f"<input type='hidden' name='ts' value='{html.escape(message.ts)}'>"
                        f"<input type='hidden' name='action_id' value='{html.escape(element.get('action_id', ''))}'>"
                        f"<button class='{html.escape(element.get('style', ''))}'>{label}</button></form>"
                    )
                parts.append(f"<div class='actions'>{''.join(buttons)}</div>")
        if not message.blocks:
            parts = [f"<p>{_mrkdwn(message.text)}</p>"]
        to = html.escape(f"{user.real_name} <{user.email}>" if user else message.user)
        rows.append(
            f"<article><h2>To {to}</h2>{''.join(parts)}"
            f"<small>{html.escape(message.channel)} · ts {html.escape(message.ts)}"
            f"{' · updated' if message.history else ''}</small></article>"
        )
    body = "".join(rows) or "<p>No messages yet. Submit a request in Gatehouse.</p>"
    cards = []
    for post in reversed(slack.teams):
        for attachment in post["message"].get("attachments", []):
            content = attachment.get("content", {})
            titles = [
                b.get("text", "") for b in content.get("body", []) if b.get("type") == "TextBlock"
            ]
            facts = [
                f"<b>{html.escape(str(f.get('title', '')))}:</b> {html.escape(str(f.get('value', '')))}"
                for b in content.get("body", [])
                if b.get("type") == "FactSet"
                for f in b.get("facts", [])
            ]
            cards.append(
                f"<article><h2>{html.escape(' '.join(titles))}</h2><p>{'<br>'.join(facts)}</p>"
                f"<small>Teams channel webhook {html.escape(post['webhook'])}</small></article>"
            )
    if cards:
        body += "<h1>Teams channel (incoming webhook)</h1>" + "".join(cards)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Slack emulator</title>"
        "<meta http-equiv='refresh' content='5'>"
        "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto}"
        "article{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}"
        "h2{font-size:1rem}.actions{display:flex;gap:.5rem;align-items:center}"
        "form{display:inline}button.primary{background:#007a5a;color:#fff}"
        "button.danger{background:#e01e5a;color:#fff}.outcome{color:#555}</style></head>"
        f"<body><h1>Slack emulator: direct messages from Gatehouse</h1>{body}</body></html>"
    )


def serve(
    *,
    host: str,
    port: int,
    token: str,
    signing_secret: str,
    interactions_url: str,
    exit_with_parent: bool = False,
    log_level: str = "warning",
) -> None:
    """Bind, print ``Slack emulator listening on URL`` and serve until stopped."""
    import os

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown_host}:{sock.getsockname()[1]}"
    slack = Slack(
        token=token,
        signing_secret=signing_secret,
        interactions_url=interactions_url,
        users=acme_users(),
    )
    server = uvicorn.Server(
        uvicorn.Config(build_app(slack), log_level=log_level, access_log=False, lifespan="off")
    )
    if exit_with_parent:
        parent = os.getppid()

        def watch() -> None:
            while not server.should_exit:
                if os.getppid() != parent:
                    server.should_exit = True
                    return
                time.sleep(0.5)

        threading.Thread(target=watch, daemon=True).start()
    print(
        f"Slack emulator listening on {base_url} (API {base_url}/api/, "
        f"{len(slack.users)} users, interactions to {interactions_url})",
        flush=True,
    )
    sys.stdout.flush()
    server.run(sockets=[sock])
