"""The sandbox server: Okta's edges around the API routes, the control API, OAuth and hooks.

``Sandbox`` is the ASGI application. For every request it assigns ``X-Okta-Request-Id``, applies
injected faults, the concurrency limit and the per-minute bucket limits, authenticates (SSWS or
an OAuth access token), then runs the route and adds the ``X-Rate-Limit-*`` headers. The control
API under ``/__sandbox__/`` (loopback only, no token) resets the org, sets faults and limits and
reads counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import random
import secrets
import socket
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from okta.governor import TOKEN_PATH, bucket_for
from okta.sandbox import seed
from okta.sandbox.api import ROUTES, json_body, json_response
from okta.sandbox.errors import CATALOG, OktaError, error_body, validation
from okta.sandbox.store import Obj, Org, dumps

log = logging.getLogger("okta.sandbox")

CONTROL_PREFIX = "/__sandbox__"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3600
DEFAULT_PER_MINUTE = 100_000
DEFAULT_CONCURRENCY = 75
DEMO_TOKEN = "demo-sandbox-token"  # the local sandbox only; opens nothing real

SCOPES_BY_BUCKET = {
    "/api/v1/users": "okta.users",
    "/api/v1/users/{id}": "okta.users",
    "/api/v1/users/{idOrLogin}": "okta.users",
    "/api/v1/groups": "okta.groups",
    "/api/v1/groups/{id}": "okta.groups",
    "/api/v1/apps": "okta.apps",
    "/api/v1/apps/{id}": "okta.apps",
    "/api/v1/logs": "okta.logs",
    "/api/v1/eventHooks": "okta.eventHooks",
    "/api/v1/iam": "okta.roles",
}


@dataclass(frozen=True)
class LimitProfile:
    """Per-minute limits by bucket, the limit of every other bucket, and how many requests
    may be in flight at once (more are answered 429 at once, as Okta does)."""

    per_minute: dict[str, int]
    default_per_minute: int
    concurrency: int
    source: str = ""


LIMIT_PROFILES: dict[str, LimitProfile] = {
    # The default, for the demo and the tests: no bucket is ever the bottleneck.
    "unlimited": LimitProfile({}, DEFAULT_PER_MINUTE, DEFAULT_CONCURRENCY),
    # A Workforce Identity org as Okta publishes it: the "Workforce identity" column of the
    # Management rate limits table (developer.okta.com/docs/reference/rl-global-mgmt/) and
    # the org-wide concurrency limit of the Additional limits page (rl-additional-limits).
    # "/api/v1" is the table's "Most other API actions"; the token endpoint and the event-hook
    # and role endpoints are not in the table and get that number too.
    "okta-workforce": LimitProfile(
        {
            "/api/v1/apps": 100,  # list/create apps and everything under /api/v1/apps/{id}/
            "/api/v1/apps/{id}": 500,  # get, update or delete one app
            "/api/v1/groups": 500,  # create or list groups
            "/api/v1/groups/{id}": 1_000,  # one group, its members counted with it here
            "/api/v1/users": 600,  # create or list users
            "/api/v1/users/{id}": 600,  # update, delete, lifecycle of one user
            "/api/v1/users/{idOrLogin}": 2_000,  # get one user
            "/api/v1/logs": 120,  # System Log
        },
        1_200,
        75,
        source="developer.okta.com/docs/reference/rl-global-mgmt/ (Workforce identity)",
    ),
}


# Codes a refusal may answer with: Okta's permanent (4xx) errors the sandbox knows, not 429.
REFUSAL_CODES = sorted(
    code for code, (status, _) in CATALOG.items() if 400 <= status < 500 and status != 429
)


@dataclass
class FaultRule:
    """One injected fault, for requests whose path starts with ``path_prefix`` (and whose method
    is ``method``, when set).

    Transient faults are drawn at random (``seed`` makes the draws repeatable): ``drop_rate``
    closes the connection unanswered, ``error_rate`` answers ``error_status`` (5xx), ``rate_429``
    a 429; ``latency_ms`` delays every matching request. A refusal (``refuse_code``) answers
    every matching request with that permanent Okta error instead: its status from Okta's
    catalog, ``refuse_detail`` filling the summary's ``{0}``, ``refuse_causes`` as errorCauses.
    ``count`` spends the rule after it has acted on that many requests; without it the rule
    holds until the faults are cleared.
    """

    latency_ms: float = 0
    error_rate: float = 0.0
    error_status: int = 500
    rate_429: float = 0.0
    drop_rate: float = 0.0
    refuse_code: str = ""
    refuse_detail: str = ""
    refuse_causes: list[str] = field(default_factory=list)
    path_prefix: str = ""
    method: str = ""
    count: int | None = None
    seed: int | None = None
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, data: Obj, default_seed: int | None = None) -> FaultRule:
        allowed = {"latency_ms", "error_rate", "error_status", "rate_429", "drop_rate"}
        allowed |= {"refuse_code", "refuse_detail", "refuse_causes"}
        allowed |= {"path_prefix", "method", "count", "seed"}
        unknown = set(data) - allowed
        if unknown:
            raise validation("faults", *[f"{k}: unknown fault setting" for k in sorted(unknown)])
        causes = data.get("refuse_causes") or []
        if not isinstance(causes, list) or not all(isinstance(c, str) for c in causes):
            raise validation("faults", "refuse_causes: must be a list of strings")
        try:
            rule = cls(
                latency_ms=float(data.get("latency_ms") or 0),
                error_rate=float(data.get("error_rate") or 0),
                error_status=int(data.get("error_status") or 500),
                rate_429=float(data.get("rate_429") or 0),
                drop_rate=float(data.get("drop_rate") or 0),
                refuse_code=str(data.get("refuse_code") or ""),
                refuse_detail=str(data.get("refuse_detail") or ""),
                refuse_causes=causes,
                path_prefix=str(data.get("path_prefix") or ""),
                method=str(data.get("method") or "").upper(),
                count=None if data.get("count") is None else int(data["count"]),
                seed=default_seed if data.get("seed") is None else int(data["seed"]),
            )
        except (TypeError, ValueError) as exc:
            raise validation("faults", f"faults: {exc}") from exc
        for rate in (rule.error_rate, rule.rate_429, rule.drop_rate):
            if not 0 <= rate <= 1:
                raise validation("faults", "rates must be between 0 and 1")
        if rule.error_status not in (500, 502, 503, 504):
            raise validation("faults", "error_status must be 500, 502, 503 or 504")
        if rule.refuse_code:
            if rule.refuse_code not in REFUSAL_CODES:
                raise validation("faults", f"refuse_code must be one of {', '.join(REFUSAL_CODES)}")
            if rule.error_rate or rule.rate_429 or rule.drop_rate:
                raise validation(
                    "faults", "refuse_code refuses every matching request: no rates beside it"
                )
        elif rule.refuse_detail or rule.refuse_causes:
            raise validation("faults", "refuse_detail and refuse_causes need a refuse_code")
        if rule.count is not None and rule.count < 1:
            raise validation("faults", "count must be at least 1 (leave it out: until cleared)")
        rule.rng = random.Random(rule.seed)
        return rule

    def to_json(self) -> Obj:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "rate_429": self.rate_429,
            "drop_rate": self.drop_rate,
            "refuse_code": self.refuse_code,
            "refuse_detail": self.refuse_detail,
            "refuse_causes": self.refuse_causes,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "count": self.count,
            "fired": self.fired,
            "seed": self.seed,
        }

    def matches(self, path: str, method: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        return path.startswith(self.path_prefix) and (not self.method or self.method == method)

    def draw(self) -> str:
        """What this rule does to one matching request: "drop", "error", "429", "refuse" or ""."""
        if self.refuse_code:
            return "refuse"
        draw = self.rng.random()
        for fault, rate in (("drop", self.drop_rate), ("error", self.error_rate)):
            if draw < rate:
                return fault
            draw -= rate
        return "429" if draw < self.rate_429 else ""

    def refusal(self) -> OktaError:
        return OktaError(self.refuse_code, self.refuse_detail, list(self.refuse_causes))


@dataclass
class OAuthClient:
    client_id: str
    keys: dict[str | None, Any]  # by kid; None for a key registered without one
    scopes: set[str]

    def key_for(self, kid: str | None) -> Any:
        if kid in self.keys:
            return self.keys[kid]
        if len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return None


@dataclass
class AccessToken:
    client_id: str
    scopes: set[str]
    expires_at: float


class Sandbox:
    """One sandbox org served over HTTP; an ASGI application."""

    def __init__(
        self,
        *,
        org_name: str = "acme",
        token: str = DEMO_TOKEN,
        base_url: str = "http://127.0.0.1:8900",
        limits: str = "unlimited",
    ) -> None:
        if limits not in LIMIT_PROFILES:
            raise ValueError(f"limits: choose one of {', '.join(LIMIT_PROFILES)}")
        self.org_name = org_name
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.startup_limits = limits  # what a reset puts back
        self.startup_clients: dict[str, OAuthClient] = {}
        self.fault_seed: int | None = None
        self.app = Starlette(
            routes=[*ROUTES, Route(TOKEN_PATH, self.token_endpoint, methods=["POST"])],
            exception_handlers={
                OktaError: _okta_error_handler,
                HTTPException: _http_error_handler,
                Exception: _server_error_handler,
            },
            lifespan=self._lifespan,
        )
        self.app.state.sandbox = self
        self.control = Starlette(
            routes=CONTROL_ROUTES,
            exception_handlers={
                OktaError: _okta_error_handler,
                HTTPException: _http_error_handler,
                Exception: _server_error_handler,
            },
        )
        self.control.state.sandbox = self
        self.hook_retry_delay = 1.0
        self.hook_timeout = 3.0
        self._queue: asyncio.Queue[tuple[str, list[Obj], int]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.org: Org = self._build(org_name)
        self.reset_runtime()

    # --- state ------------------------------------------------------------------------------
    def _build(self, org_name: str) -> Org:
        org = seed.build(org_name, self.base_url)
        org.listeners.append(self._on_event)
        return org

    def reset_runtime(self) -> None:
        self.faults: list[FaultRule] = []
        self.limits_apply(self.startup_limits)
        self.counters: Counter[str] = Counter()
        self.bucket_requests: Counter[str] = Counter()
        self.clients: dict[str, OAuthClient] = dict(self.startup_clients)
        self.tokens: dict[str, AccessToken] = {}
        self.used_jti: set[str] = set()
        self.deliveries: list[Obj] = []

    def limits_apply(self, profile: str) -> None:
        """Take a named limit profile's buckets and concurrency; counting starts afresh."""
        chosen = LIMIT_PROFILES[profile]
        self.limits_profile = profile
        self.per_minute: dict[str, int] = dict(chosen.per_minute)
        self.default_per_minute = chosen.default_per_minute
        self.concurrency = chosen.concurrency
        self.windows: dict[str, tuple[float, int]] = {}

    def reset(self, org_name: str | None = None) -> None:
        if org_name and org_name not in seed.ORGS:
            raise validation("org", f"org: choose one of {', '.join(seed.ORGS)}")
        self.org_name = org_name or self.org_name
        self.org = self._build(self.org_name)
        self.reset_runtime()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    def register_client(self, client_id: str, public_key: Any, scopes: list[str]) -> None:
        """Register an OAuth service app: ``public_key`` is a JWK, a JWK Set or a PEM string."""
        keys: dict[str | None, Any] = {}
        if isinstance(public_key, dict) and isinstance(public_key.get("keys"), list):
            for jwk in public_key["keys"]:
                keys[jwk.get("kid")] = jwt.PyJWK(jwk).key
        elif isinstance(public_key, dict):
            keys[public_key.get("kid")] = jwt.PyJWK(public_key).key
        elif isinstance(public_key, str) and "BEGIN" in public_key:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            keys[None] = load_pem_public_key(public_key.encode())
        if not keys:
            raise validation("public_key", "public_key: a JWK, a JWK Set or a PEM public key")
        self.clients[client_id] = OAuthClient(client_id, keys, set(scopes))

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            client = scope.get("client") or ("127.0.0.1", 0)
            if not _loopback(client[0]):
                await _respond(send, 403, error_body("E0000006", "Control API is loopback only"))
                return
            await self.control(scope, receive, send)
            return
        await self._api(scope, receive, send)

    async def _api(self, scope: Any, receive: Any, send: Any) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        request_id = "sbx" + secrets.token_urlsafe(16)
        scope["okta.request_id"] = request_id
        bucket = bucket_for(method, path)
        self.counters["requests"] += 1
        self.bucket_requests[bucket] += 1
        limit, remaining, reset = self._rate_headers(bucket, count=True)
        headers = [
            (b"x-okta-request-id", request_id.encode()),
            (b"x-rate-limit-limit", str(limit).encode()),
            (b"x-rate-limit-remaining", str(max(0, remaining)).encode()),
            (b"x-rate-limit-reset", str(reset).encode()),
        ]
        if self._inflight >= self.concurrency:
            self.counters["rate_limited"] += 1
            self.counters["concurrency_limited"] += 1
            concurrency_headers = [
                (b"x-okta-request-id", request_id.encode()),
                (b"x-rate-limit-limit", str(self.concurrency).encode()),
                (b"x-rate-limit-remaining", b"0"),
                (b"x-rate-limit-reset", str(int(time.time()) + 1).encode()),
            ]
            await _respond(send, 429, _error("E0000047"), concurrency_headers)
            return
        self._inflight += 1
        try:
            for rule in self.faults:
                if not rule.matches(path, method):
                    continue
                fault = rule.draw()
                if fault or rule.latency_ms:
                    rule.fired += 1
                if rule.latency_ms:
                    await asyncio.sleep(rule.latency_ms / 1000)
                if fault == "drop":
                    self.counters["dropped"] += 1
                    _drop_connection(send)
                    return
                if fault == "error":
                    self.counters["server_errors"] += 1
                    await _respond(send, rule.error_status, _error("E0000009"), headers)
                    return
                if fault == "429":
                    self.counters["rate_limited"] += 1
                    await _respond(send, 429, _error("E0000047"), _zero_remaining(headers))
                    return
                if fault == "refuse":
                    self.counters["refused"] += 1
                    refusal = rule.refusal()
                    await _respond(send, refusal.status, refusal.body(), headers)
                    return
            if remaining < 0:
                self.counters["rate_limited"] += 1
                await _respond(send, 429, _error("E0000047"), headers)
                return
            if path != TOKEN_PATH:
                problem = self._authenticate(scope, bucket)
                if problem is not None:
                    status, body = problem
                    await _respond(send, status, body, headers)
                    return

            is_write = method in ("POST", "PUT", "DELETE", "PATCH") and path != TOKEN_PATH

            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), *headers]
                    status = message["status"]
                    if status >= 500:
                        self.counters["server_errors"] += 1
                    elif status == 429:
                        self.counters["rate_limited"] += 1
                    elif status < 400 and is_write:
                        self.counters["writes"] += 1
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            self._inflight -= 1

    def _rate_headers(self, bucket: str, *, count: bool) -> tuple[int, int, int]:
        """Count one request in the bucket's one-minute window: (limit, remaining, reset).

        A window opens at the bucket's first request and lasts 60 s, so a test that sets a
        limit and then makes its calls never straddles a window boundary by accident.
        """
        limit = self.per_minute.get(bucket, self.default_per_minute)
        now = time.time()
        start, used = self.windows.get(bucket, (now, 0))
        if now >= start + 60:
            start, used = now, 0
        if count:
            used += 1
            self.windows[bucket] = (start, used)
        return limit, limit - used, math.ceil(start + 60)

    def _authenticate(self, scope: Any, bucket: str) -> tuple[int, Obj] | None:
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1").strip()
                break
        if header[:4].upper() == "SSWS":
            presented = header[4:].strip()
            if presented and hmac.compare_digest(presented.encode(), self.token.encode()):
                admin = self.org.admin_id
                scope["okta.actor"] = {**self.org.actor_for_user(admin)}
                scope["okta.user_id"] = admin
                return None
        elif header[:7].lower() == "bearer ":
            access = self.tokens.get(header[7:].strip())
            if access and access.expires_at > time.time():
                family = SCOPES_BY_BUCKET.get(bucket)
                method = scope["method"]
                needed = {f"{family}.manage"} if family else set()
                if family and method in ("GET", "HEAD"):
                    needed.add(f"{family}.read")
                if family and not (needed & access.scopes):
                    return 403, error_body(
                        "E0000006",
                        "You do not have permission to perform the requested action",
                        [f"The access token does not contain the required scope: {family}"],
                    )
                scope["okta.actor"] = {
                    "id": access.client_id,
                    "type": "PublicClientApp",
                    "alternateId": access.client_id,
                    "displayName": access.client_id,
                }
                scope["okta.user_id"] = None
                return None
        return 401, _error("E0000011")

    # --- OAuth 2.0 client credentials with private_key_jwt -----------------------------------
    async def token_endpoint(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}

        def oauth_error(status: int, error: str, description: str) -> Response:
            body = {"error": error, "error_description": description}
            return json_response(body, status=status, headers=headers)

        if form.get("grant_type") != "client_credentials":
            return oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials."
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return oauth_error(
                401, "invalid_client", "A client_assertion (private_key_jwt) is required."
            )
        assertion = form["client_assertion"]
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return oauth_error(401, "invalid_client", "The client_assertion is not a valid JWT.")
        client = self.clients.get(str(claims.get("iss", "")))
        if client is None:
            return oauth_error(
                401, "invalid_client", "The client_assertion's iss is not a known client."
            )
        audiences = {self.base_url + TOKEN_PATH, str(request.url.replace(query=""))}
        key = client.key_for(jwt.get_unverified_header(assertion).get("kid"))
        if key is None:
            return oauth_error(401, "invalid_client", "No registered key matches the kid.")
        try:
            verified = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=list(audiences),
                issuer=client.client_id,
                options={"require": ["exp", "iss", "sub", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            return oauth_error(401, "invalid_client", f"The client_assertion is invalid: {exc}")
        if verified.get("sub") != client.client_id:
            return oauth_error(
                401, "invalid_client", "The client_assertion's sub must be the client id."
            )
        if float(verified["exp"]) - time.time() > TOKEN_LIFETIME + 30:
            return oauth_error(
                401, "invalid_client", "The client_assertion's exp is more than one hour away."
            )
        jti = verified.get("jti")
        if jti is not None:
            if jti in self.used_jti:
                return oauth_error(
                    401, "invalid_client", "The client_assertion's jti was already used."
                )
            self.used_jti.add(str(jti))
        requested = set((form.get("scope") or "").split())
        if not requested:
            return oauth_error(400, "invalid_scope", "The 'scope' parameter is required.")
        if not requested <= client.scopes:
            unknown = " ".join(sorted(requested - client.scopes))
            return oauth_error(400, "invalid_scope", f"The client may not request: {unknown}.")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = AccessToken(client.client_id, requested, time.time() + TOKEN_LIFETIME)
        body = {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "access_token": token,
            "scope": " ".join(sorted(requested)),
        }
        return json_response(body, headers=headers)

    # --- event hooks ------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._deliver_forever())
        try:
            yield
        finally:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def _on_event(self, event: Obj) -> None:
        if self._queue is None:
            return
        for hook_id in self.org.hook_order:
            hook = self.org.hooks[hook_id]
            if (
                hook["status"] == "ACTIVE"
                and hook["verificationStatus"] == "VERIFIED"
                and event["eventType"] in hook["events"]["items"]
            ):
                self._queue.put_nowait((hook_id, [event], 1))

    async def _deliver_forever(self) -> None:
        assert self._queue is not None
        while True:
            hook_id, events, attempt = await self._queue.get()
            # Batch what is already waiting for the same hook, as Okta does.
            waiting: list[tuple[str, list[Obj], int]] = []
            while not self._queue.empty() and len(events) < 50:
                item = self._queue.get_nowait()
                if item[0] == hook_id and item[2] == attempt:
                    events = [*events, *item[1]]
                else:
                    waiting.append(item)
            for item in waiting:
                self._queue.put_nowait(item)
            task = asyncio.create_task(self._deliver(hook_id, events, attempt))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook_id: str, events: list[Obj], attempt: int) -> None:
        hook = self.org.hooks.get(hook_id)
        if hook is None:
            return
        body = {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": self.org.href(f"/api/v1/eventHooks/{hook_id}"),
            "eventId": secrets.token_hex(16),
            "eventTime": events[0]["published"],
            "contentType": "application/json",
            "data": {"events": events},
        }
        headers = self._hook_headers(hook)
        headers["Content-Type"] = "application/json"
        status, _ = await asyncio.to_thread(
            _http, "POST", hook["channel"]["config"]["uri"], headers, dumps(body), self.hook_timeout
        )
        ok = 200 <= status < 300
        self.counters["hook_deliveries"] += 1
        self.deliveries.append(
            {
                "hook_id": hook_id,
                "attempt": attempt,
                "status": status,
                "ok": ok,
                "uuids": [e["uuid"] for e in events],
            }
        )
        if not ok and attempt == 1:
            await asyncio.sleep(self.hook_retry_delay)
            await self._deliver(hook_id, events, 2)

    def _hook_headers(self, hook: Obj) -> dict[str, str]:
        config = hook["channel"]["config"]
        headers = {h["key"]: h["value"] for h in config.get("headers") or [] if h.get("key")}
        auth = config.get("authScheme")
        if auth:
            headers[auth["key"]] = auth["value"]
        return headers

    async def hook_verify(self, hook_id: str, actor: Obj, request_id: str) -> Obj:
        hook = self.org.hook(hook_id)
        challenge = secrets.token_urlsafe(24)
        headers = self._hook_headers(hook)
        headers["x-okta-verification-challenge"] = challenge
        status, body = await asyncio.to_thread(
            _http, "GET", hook["channel"]["config"]["uri"], headers, None, self.hook_timeout
        )
        answer = None
        if 200 <= status < 300:
            with contextlib.suppress(ValueError, AttributeError):
                answer = json.loads(body).get("verification")
        if answer != challenge:
            raise validation(
                "Verification of the event hook failed",
                f"The endpoint answered {status} without the verification value",
            )
        hook["verificationStatus"] = "VERIFIED"
        self.org.log(
            "event_hook.verified", actor, [self.org._hook_target(hook)], request_id=request_id
        )
        return hook


def _http(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes]:
    """One outbound request for event hooks (the sandbox is its own server, not Gatehouse)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ValueError):
        return 0, b""


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost", "testclient") or host.startswith("127.")


def _error(code: str) -> Obj:
    return OktaError(code).body()


def _zero_remaining(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, b"0") if k == b"x-rate-limit-remaining" else (k, v) for k, v in headers]


async def _respond(
    send: Any, status: int, body: Obj, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    content = dumps(body)
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": content})


def _drop_connection(send: Any) -> None:
    """Close the TCP connection without answering (uvicorn's protocol owns the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("dropped by fault injection")
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.abort()


async def _okta_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OktaError)
    return json_response(exc.body(), status=exc.status)


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return json_response(_error("E0000022"), status=405)
    if exc.status_code == 404:
        error = OktaError("E0000007", f"Resource not found: {request.url.path} (Path)")
        return json_response(error.body(), status=404)
    return json_response(error_body("E0000001", str(exc.detail)), status=exc.status_code)


async def _server_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("sandbox error on %s %s", request.method, request.url.path)
    return json_response(_error("E0000009"), status=500)


# --- control API -----------------------------------------------------------------------------
def _sb(request: Request) -> Sandbox:
    return request.app.state.sandbox


async def control_reset(request: Request) -> Response:
    body = await json_body(request)
    sandbox = _sb(request)
    sandbox.reset(body.get("org"))
    return json_response({"org": sandbox.org_name, "users": len(sandbox.org.users)})


async def control_faults(request: Request) -> Response:
    sandbox = _sb(request)
    if request.method == "POST":
        body = await json_body(request)
        rules = body.get("rules") if "rules" in body else [body] if body else []
        if not isinstance(rules, list):
            raise validation("rules", "rules: must be a list")
        sandbox.faults = [FaultRule.from_json(rule, sandbox.fault_seed) for rule in rules]
    elif request.method == "DELETE":
        sandbox.faults = []
    return json_response({"rules": [rule.to_json() for rule in sandbox.faults]})


async def control_rate_limits(request: Request) -> Response:
    """GET: the limits in force. POST: ``profile`` (a named profile, applied first), then any
    of ``per_minute`` (bucket → limit, replacing the table), ``default_per_minute`` and
    ``concurrency`` on top of it (the profile then reads "custom")."""
    sandbox = _sb(request)
    if request.method == "POST":
        body = await json_body(request)
        try:
            if "profile" in body:
                if body["profile"] not in LIMIT_PROFILES:
                    raise ValueError(f"profile: choose one of {', '.join(LIMIT_PROFILES)}")
                sandbox.limits_apply(body["profile"])
            if "per_minute" in body:
                per_minute = body["per_minute"]
                if not isinstance(per_minute, dict):
                    raise TypeError("per_minute must map bucket to a number")
                sandbox.per_minute = {str(k): int(v) for k, v in per_minute.items()}
            if "default_per_minute" in body:
                sandbox.default_per_minute = int(body["default_per_minute"])
            if "concurrency" in body:
                sandbox.concurrency = int(body["concurrency"])
            if {"per_minute", "default_per_minute", "concurrency"} & set(body):
                sandbox.limits_profile = "custom"
        except (TypeError, ValueError) as exc:
            raise validation("rate limits", f"rate limits: {exc}") from exc
        sandbox.windows = {}
    return json_response(
        {
            "profile": sandbox.limits_profile,
            "per_minute": sandbox.per_minute,
            "default_per_minute": sandbox.default_per_minute,
            "concurrency": sandbox.concurrency,
        }
    )


async def control_counters(request: Request) -> Response:
    sandbox = _sb(request)
    if request.method == "DELETE":
        sandbox.counters.clear()
        sandbox.bucket_requests.clear()
    return json_response(
        {
            "requests": sandbox.counters["requests"],
            "by_bucket": dict(sandbox.bucket_requests),
            "rate_limited": sandbox.counters["rate_limited"],
            "concurrency_limited": sandbox.counters["concurrency_limited"],
            "server_errors": sandbox.counters["server_errors"],
            "dropped": sandbox.counters["dropped"],
            "refused": sandbox.counters["refused"],
            "writes": sandbox.counters["writes"],
            "hook_deliveries": sandbox.counters["hook_deliveries"],
            "inflight": sandbox._inflight,
        }
    )


async def control_state(request: Request) -> Response:
    org = _sb(request).org
    return json_response(
        {
            "org": org.name,
            "users": len(org.users),
            "groups": len(org.groups),
            "apps": len(org.apps),
            "memberships": sum(len(m) for m in org.members.values()),
            "events": len(org.events),
            "hooks": len(org.hooks),
        }
    )


async def control_user_state(request: Request) -> Response:
    org = _sb(request).org
    user = org.user(request.path_params["key"])
    uid = user["id"]
    return json_response(
        {
            "id": uid,
            "login": user["profile"]["login"],
            "status": user["status"],
            "groups": sorted(org.groups[g]["profile"]["name"] for g in org.groups_of(uid)),
            "apps": sorted(org.apps[a]["label"] for a in org.apps_of(uid)),
            "roles": [r["type"] for r in org.roles.get(uid, [])],
        }
    )


async def control_user_lock(request: Request) -> Response:
    """Lock a user out, as too many failed sign-ins would (no API can do this)."""
    org = _sb(request).org
    user = org.user(request.path_params["key"])
    if user["status"] != "ACTIVE":
        raise OktaError("E0000038")
    org._touch(user, status="LOCKED_OUT")
    org.log("user.account.lock", org.actor_for_user(user["id"]), [org.target("User", user["id"])])
    return json_response(org.users[user["id"]])


async def control_oauth_clients(request: Request) -> Response:
    sandbox = _sb(request)
    if request.method == "POST":
        body = await json_body(request)
        client_id = body.get("client_id")
        key = body.get("jwk") or body.get("public_key_pem") or body.get("public_key")
        scopes = body.get("scopes") or []
        if not isinstance(client_id, str) or not client_id or not isinstance(scopes, list):
            raise validation("client", "client_id, jwk or public_key_pem, and scopes are required")
        try:
            sandbox.register_client(client_id, key, [str(s) for s in scopes])
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise validation("public key", f"public key: {exc}") from exc
    return json_response(
        [{"client_id": c.client_id, "scopes": sorted(c.scopes)} for c in sandbox.clients.values()]
    )


async def control_hooks(request: Request) -> Response:
    sandbox = _sb(request)
    if request.method == "POST":
        body = await json_body(request)
        if "retry_delay_ms" in body:
            sandbox.hook_retry_delay = float(body["retry_delay_ms"]) / 1000
        if "timeout_ms" in body:
            sandbox.hook_timeout = float(body["timeout_ms"]) / 1000
    return json_response(
        {
            "retry_delay_ms": sandbox.hook_retry_delay * 1000,
            "timeout_ms": sandbox.hook_timeout * 1000,
            "deliveries": sandbox.deliveries,
        }
    )


CONTROL_ROUTES = [
    Route(f"{CONTROL_PREFIX}/reset", control_reset, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/faults", control_faults, methods=["GET", "POST", "DELETE"]),
    Route(f"{CONTROL_PREFIX}/rate-limits", control_rate_limits, methods=["GET", "POST"]),
    Route(f"{CONTROL_PREFIX}/counters", control_counters, methods=["GET", "DELETE"]),
    Route(f"{CONTROL_PREFIX}/state", control_state, methods=["GET"]),
    Route(f"{CONTROL_PREFIX}/state/users/{{key}}", control_user_state, methods=["GET"]),
    Route(f"{CONTROL_PREFIX}/users/{{key}}/lock", control_user_lock, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/oauth-clients", control_oauth_clients, methods=["GET", "POST"]),
    Route(f"{CONTROL_PREFIX}/hooks", control_hooks, methods=["GET", "POST"]),
]


# --- running ---------------------------------------------------------------------------------
def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8900,
    org: str = "acme",
    token: str = DEMO_TOKEN,
    clients: list[tuple[str, Any, list[str]]] | None = None,
    log_level: str = "warning",
    fault_seed: int | None = None,
    exit_with_parent: bool = False,
    limits: str = "unlimited",
) -> None:
    """Bind, build the org, print ``Okta sandbox listening on URL`` and serve until stopped."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen now, so clients told the URL below queue in the backlog until uvicorn accepts.
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown_host}:{bound_port}"
    started = time.monotonic()
    sandbox = Sandbox(org_name=org, token=token, base_url=base_url, limits=limits)
    for client_id, key, scopes in clients or []:
        sandbox.register_client(client_id, key, scopes)
    sandbox.startup_clients = dict(sandbox.clients)
    sandbox.fault_seed = fault_seed
    config = uvicorn.Config(
        sandbox,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    if exit_with_parent:
        _watch_parent(server)
    print(
        f"Okta sandbox listening on {base_url} (org {org}, {len(sandbox.org.users)} users, "
        f"limits {limits}, built in {time.monotonic() - started:.1f}s)",
        flush=True,
    )
    sys.stdout.flush()
    server.run(sockets=[sock])


def _watch_parent(server: Any) -> None:
    """Stop serving when the process that started us is gone (a killed test run)."""
    import os
    import threading

    parent = os.getppid()

    def watch() -> None:
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
                return
            time.sleep(1)

    threading.Thread(target=watch, name="sandbox-parent-watch", daemon=True).start()
