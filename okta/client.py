"""The one door to Okta: every HTTP call Gatehouse makes to an Okta org goes through here.

``OktaClient`` speaks the Management API with an SSWS token or OAuth 2.0 client credentials
(private_key_jwt), follows ``Link: rel="next"`` pagination as generators, paces itself through a
shared rate-limit governor (okta/governor.py), retries what is safe to retry, and returns typed,
frozen results. Every failure is an ``OktaError`` that says whether a retry can help.

Build one from settings with ``get_client()``, or from explicit values with ``OktaClient(...)``
(tests pass a respx-mocked or sandbox ``transport``; ``governor=None`` disables pacing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from okta.governor import Governor, bucket_for, seconds_until_reset

log = logging.getLogger(__name__)

Json = dict[str, Any]
T = TypeVar("T")

PAGE_SIZES = {
    "users": 200,
    "groups": 10000,
    "group_members": 1000,
    "apps": 200,
    "app_users": 500,
    "logs": 1000,
    "user_groups": 200,
    "roles": 100,
    "event_hooks": 200,
}
TOKEN_REFRESH_MARGIN_SECONDS = 300
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


# --- Errors ------------------------------------------------------------------------------------


class OktaError(Exception):
    """Anything that went wrong talking to Okta.

    ``status`` is the HTTP status (None when no response arrived); ``error_code`` /
    ``error_summary`` / ``error_causes`` come from Okta's error body when there is one;
    ``request_id`` is ``X-Okta-Request-Id``; ``retryable`` says whether trying again later can
    help (429, 5xx, timeouts, dropped connections); ``retry_after`` is how many seconds to wait
    first when Okta said so (a 429's ``X-Rate-Limit-Reset``).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str = "",
        error_summary: str = "",
        error_causes: Sequence[str] = (),
        request_id: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.error_summary = error_summary or message
        self.error_causes = list(error_causes)
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"OktaError({self.message!r}, status={self.status}, error_code={self.error_code!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable})"
        )

    @property
    def is_not_found(self) -> bool:
        return self.status == 404 or self.error_code == "E0000007"

    @classmethod
    def from_response(cls, response: httpx.Response, *, retry_after: float | None = None) -> Self:
        """Build the error from any non-2xx response, whatever its body looks like."""
        status = response.status_code
        request_id = response.headers.get("x-okta-request-id", "")
        code = summary = ""
        causes: list[str] = []
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict):
            code = str(body.get("errorCode") or "")
            summary = str(body.get("errorSummary") or body.get("error_description") or "")
            if not code and body.get("error"):
                code = str(body["error"])
            raw_causes = body.get("errorCauses")
            if isinstance(raw_causes, list):
                for cause in raw_causes:
                    if isinstance(cause, dict) and cause.get("errorSummary"):
                        causes.append(str(cause["errorSummary"]))
                    elif isinstance(cause, str):
                        causes.append(cause)
        reason = response.reason_phrase or "error"
        message = summary or f"Okta answered {status} {reason}"
        if causes:
            message = f"{message}: {'; '.join(causes)}"
        return cls(
            message,
            status=status,
            error_code=code,
            error_summary=summary or f"HTTP {status} {reason}",
            error_causes=causes,
            request_id=request_id,
            retryable=status in RETRYABLE_STATUSES,
            retry_after=retry_after,
        )


def _malformed(what: str, response: httpx.Response | None = None) -> OktaError:
    return OktaError(
        f"Okta sent a malformed response: {what}",
        status=response.status_code if response is not None else None,
        error_summary=f"Malformed response: {what}",
        request_id=response.headers.get("x-okta-request-id", "") if response is not None else "",
    )


# --- Typed results -----------------------------------------------------------------------------


def _dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise OktaError(f"Okta sent a malformed timestamp: {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise OktaError(f"Okta sent a malformed timestamp: {value!r}") from exc


def _obj(data: Any, what: str) -> Json:
    if not isinstance(data, dict):
        raise OktaError(f"Okta sent a malformed {what}: expected an object")
    return data


def _req(data: Json, key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise OktaError(f"Okta sent a malformed {what}: missing {key!r}")
    return value


def _s(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    status: str
    login: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    department: str = ""
    title: str = ""
    manager_id: str = ""
    employee_number: str = ""
    last_login: datetime | None = None
    created: datetime | None = None
    activated: datetime | None = None
    status_changed: datetime | None = None
    last_updated: datetime | None = None
    password_changed: datetime | None = None
    profile: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "user")
        profile = _obj(data.get("profile") or {}, "user profile")
        return cls(
            id=_req(data, "id", "user"),
            status=_s(data, "status"),
            login=_s(profile, "login"),
            email=_s(profile, "email"),
            first_name=_s(profile, "firstName"),
            last_name=_s(profile, "lastName"),
            display_name=_s(profile, "displayName"),
            department=_s(profile, "department"),
            title=_s(profile, "title"),
            manager_id=_s(profile, "managerId"),
            employee_number=_s(profile, "employeeNumber"),
            last_login=_dt(data.get("lastLogin")),
            created=_dt(data.get("created")),
            activated=_dt(data.get("activated")),
            status_changed=_dt(data.get("statusChanged")),
            last_updated=_dt(data.get("lastUpdated")),
            password_changed=_dt(data.get("passwordChanged")),
            profile=profile,
        )


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    type: str
    name: str
    description: str = ""
    created: datetime | None = None
    last_updated: datetime | None = None
    last_membership_updated: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "group")
        profile = _obj(data.get("profile") or {}, "group profile")
        return cls(
            id=_req(data, "id", "group"),
            type=_s(data, "type"),
            name=_s(profile, "name"),
            description=_s(profile, "description"),
            created=_dt(data.get("created")),
            last_updated=_dt(data.get("lastUpdated")),
            last_membership_updated=_dt(data.get("lastMembershipUpdated")),
        )


@dataclass(frozen=True, slots=True)
class App:
    id: str
    name: str
    label: str
    status: str
    sign_on_mode: str = ""
    created: datetime | None = None
    last_updated: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "app")
        return cls(
            id=_req(data, "id", "app"),
            name=_s(data, "name"),
            label=_s(data, "label"),
            status=_s(data, "status"),
            sign_on_mode=_s(data, "signOnMode"),
            created=_dt(data.get("created")),
            last_updated=_dt(data.get("lastUpdated")),
        )


@dataclass(frozen=True, slots=True)
class AppUser:
    """A user's assignment to an app; ``scope`` is USER (direct) or GROUP."""

    id: str
    scope: str
    status: str
    external_id: str = ""
    last_updated: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "app user")
        return cls(
            id=_req(data, "id", "app user"),
            scope=_s(data, "scope") or "USER",
            status=_s(data, "status"),
            external_id=_s(data, "externalId"),
            last_updated=_dt(data.get("lastUpdated")),
        )


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    type: str
    label: str = ""
    assignment_type: str = ""
    status: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "role")
        return cls(
            id=_req(data, "id", "role"),
            type=_s(data, "type"),
            label=_s(data, "label"),
            assignment_type=_s(data, "assignmentType"),
            status=_s(data, "status"),
        )


@dataclass(frozen=True, slots=True)
class LogEvent:
    uuid: str
    event_type: str
    published: datetime | None
    actor: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""
    display_message: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "log event")
        outcome = data.get("outcome") or {}
        targets = data.get("target") or []
        if not isinstance(targets, list):
            raise OktaError("Okta sent a malformed log event: 'target' is not a list")
        return cls(
            uuid=_req(data, "uuid", "log event"),
            event_type=_s(data, "eventType"),
            published=_dt(data.get("published")),
            actor=_obj(data.get("actor") or {}, "log event actor"),
            targets=[_obj(t, "log event target") for t in targets],
            outcome=_s(outcome, "result") if isinstance(outcome, dict) else "",
            display_message=_s(data, "displayMessage"),
        )


@dataclass(frozen=True, slots=True)
class EventHook:
    id: str
    name: str
    status: str
    verification_status: str = ""
    url: str = ""
    events: list[str] = field(default_factory=list)
    created: datetime | None = None
    last_updated: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        data = _obj(data, "event hook")
        channel = _obj(data.get("channel") or {}, "event hook channel")
        config = _obj(channel.get("config") or {}, "event hook channel config")
        events = _obj(data.get("events") or {}, "event hook events")
        items = events.get("items") or []
        return cls(
            id=_req(data, "id", "event hook"),
            name=_s(data, "name"),
            status=_s(data, "status"),
            verification_status=_s(data, "verificationStatus"),
            url=_s(config, "uri"),
            events=[str(i) for i in items] if isinstance(items, list) else [],
            created=_dt(data.get("created")),
            last_updated=_dt(data.get("lastUpdated")),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the raw JSON objects, and the cursor to the next page.

    ``next_url`` is the full ``rel="next"`` link; ``after`` is its opaque cursor, which is what
    System Log polling stores to resume later.
    """

    items: list[Json]
    next_url: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Slot:
    """A concurrency slot a caller holds across walks; ``key`` is None when the governor let
    the caller go without one (no governor, no cache, or the soft cap's wait ran out)."""

    key: str | None


PageStream = Generator[Page, None, None]
"""Pages as a generator: ``close()`` it to end a walk early and free its concurrency slot."""


# --- Link headers ------------------------------------------------------------------------------

_LINK_RE = re.compile(r"^\s*<([^>]*)>\s*((?:;\s*[^;]*)*)$")
_REL_RE = re.compile(r';\s*rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)


def parse_links(values: Sequence[str]) -> dict[str, str]:
    """``{rel: url}`` from one or more Link header values (each may hold several links).

    Raises OktaError when a ``rel="next"`` is announced but cannot be read: stopping silently
    would make a sync believe the list ended there.
    """
    links: dict[str, str] = {}
    for value in values:
        for part in _split_links(value):
            match = _LINK_RE.match(part)
            if not match:
                if "next" in part.lower():
                    raise OktaError(f"Okta sent a malformed Link header: {part.strip()[:200]!r}")
                continue
            url, params = match.group(1).strip(), match.group(2)
            for rel in _REL_RE.findall(params):
                for name in rel.split():
                    links[name.lower()] = url
    if "next" in links and not links["next"]:
        raise OktaError("Okta sent a malformed Link header: empty next URL")
    return links


def _split_links(value: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(value):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return [p for p in parts if p.strip()]


def _after_of(url: str | None) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("after")
    return values[0] if values else None


# --- Auth --------------------------------------------------------------------------------------


class _TokenStore:
    """OAuth access tokens, in memory and (when given) in a cache shared by all workers."""

    def __init__(self, key: str, cache: Any = None) -> None:
        self.key = key
        self.cache = cache
        self.token: str = ""
        self.expires_at: float = 0.0
        self.lock = threading.Lock()

    def _cache_call(self, name: str, *args: Any) -> Any:
        if self.cache is None:
            return None
        try:
            return getattr(self.cache, name)(*args)
        except Exception:  # a broken cache must not stop Okta calls: memory still works
            log.warning("okta token cache unavailable", exc_info=True)
            return None

    def load(self) -> None:
        cached = self._cache_call("get", self.key)
        if isinstance(cached, dict) and cached.get("expires_at", 0) > self.expires_at:
            self.token = str(cached["token"])
            self.expires_at = float(cached["expires_at"])

    def save(self, token: str, expires_at: float) -> None:
        self.token, self.expires_at = token, expires_at
        ttl = max(int(expires_at - time.time()) - 1, 1)
        self._cache_call("set", self.key, {"token": token, "expires_at": expires_at}, ttl)

    def clear(self, token: str) -> None:
        if self.token and self.token != token:
            return  # someone already refreshed it
        self.token, self.expires_at = "", 0.0
        cached = self._cache_call("get", self.key)
        if isinstance(cached, dict) and cached.get("token") == token:
            self._cache_call("delete", self.key)


def _load_private_key(private_key: str) -> tuple[Any, str | None]:
    """A signing key from PEM text or a JWK (JSON), and its ``kid`` if the JWK has one."""
    text = private_key.strip()
    try:
        if text.startswith("{"):
            jwk = json.loads(text)
            return jwt.algorithms.RSAAlgorithm.from_jwk(jwk), jwk.get("kid")
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(text.encode(), password=None), None
    except (ValueError, TypeError, KeyError, jwt.exceptions.PyJWTError) as exc:
        raise OktaError(
            "The private key cannot be read: give an RSA private key as PEM or JWK",
            error_summary="Invalid private key",
        ) from exc


# --- The client --------------------------------------------------------------------------------

Sleep = Callable[[float], None]


class OktaClient:
    """A client for one Okta org.

    Give ``token`` (an SSWS API token) or ``client_id`` + ``private_key`` (+ ``scopes``) for
    OAuth 2.0 client credentials. ``transport`` is handed to httpx (respx mock or sandbox in
    tests); ``governor`` paces calls (None: no pacing); ``sleep`` is how the client waits
    (tests pass a recorder). ``max_retries`` and ``max_retry_seconds`` bound retrying.
    ``token_cache`` (a Django cache) shares OAuth access tokens between workers.
    """

    def __init__(
        self,
        org_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        private_key: str | None = None,
        scopes: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
        timeout: float = 20.0,
        governor: Governor | None = None,
        max_retries: int = 6,
        max_retry_seconds: float = 120.0,
        sleep: Sleep = time.sleep,
        token_cache: Any = None,
        user_agent: str = "Gatehouse/0.1",
    ) -> None:
        org_url = (org_url or "").strip().rstrip("/")
        parts = urlsplit(org_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise OktaError(
                f"The Okta org URL {org_url!r} is not a URL like https://example.okta.com",
                error_summary="Invalid org URL",
            )
        if not token and not (client_id and private_key):
            raise OktaError(
                "Okta credentials are missing: give an API token, or a client id and private key",
                error_summary="Missing credentials",
            )
        self.org_url = org_url
        self._origin = (parts.scheme, parts.netloc)
        self._ssws = (token or "").strip()
        if self._ssws.upper().startswith("SSWS"):
            self._ssws = self._ssws[4:].strip()
        self.client_id = client_id or ""
        self.scopes = tuple(scopes)
        self._signing_key: Any = None
        self._kid: str | None = None
        if not self._ssws:
            self._signing_key, self._kid = _load_private_key(private_key or "")
        digest = hashlib.sha256(
            f"{org_url}|{self.client_id}|{' '.join(sorted(self.scopes))}".encode()
        ).hexdigest()[:24]
        self._tokens = _TokenStore(f"okta:oauth-token:{digest}", token_cache)
        self.governor = governor
        # What the last response of this client said: operations record it as the outcome.
        self.last_status: int | None = None
        self.last_request_id = ""
        self.max_retries = max(int(max_retries), 0)
        self.max_retry_seconds = max_retry_seconds
        self.sleep = sleep
        self._http = httpx.Client(
            base_url=org_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Accept": "application/json", "User-Agent": user_agent},
            follow_redirects=False,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def auth_mode(self) -> Literal["ssws", "oauth"]:
        return "ssws" if self._ssws else "oauth"

    # --- auth ---------------------------------------------------------------------------------

    def _client_assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": f"{self.org_url}/oauth2/v1/token",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._kid} if self._kid else None
        return jwt.encode(claims, self._signing_key, algorithm="RS256", headers=headers)

    def _fetch_access_token(self, held: str | None) -> tuple[str, float]:
        data = {
            "grant_type": "client_credentials",
            "scope": " ".join(self.scopes),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self._client_assertion(),
        }
        response = self._send_once("POST", "/oauth2/v1/token", data=data, auth=False, held=held)
        if response.status_code >= 400:
            raise OktaError.from_response(response)
        body = _json(response)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise _malformed("token response without access_token", response)
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError) as exc:
            raise _malformed("token response with a bad expires_in", response) from exc
        return body["access_token"], time.time() + expires_in

    def _access_token(self, held: str | None) -> str:
        store = self._tokens
        if store.expires_at - time.time() > TOKEN_REFRESH_MARGIN_SECONDS:
            return store.token
        with store.lock:
            store.load()
            if store.expires_at - time.time() > TOKEN_REFRESH_MARGIN_SECONDS:
                return store.token
            token, expires_at = self._fetch_access_token(held)
            store.save(token, expires_at)
            return token

    def _auth_header(self, held: str | None) -> tuple[str, str]:
        """The Authorization header; a walk's token refresh goes out on the walk's own slot
        (taking a second slot while holding one could wait forever on a full org)."""
        if self._ssws:
            return f"SSWS {self._ssws}", ""
        token = self._access_token(held)
        return f"Bearer {token}", token

    # --- transport ----------------------------------------------------------------------------

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme and (parts.scheme, parts.netloc) != self._origin:
            raise OktaError(
                f"Okta pointed to another host ({parts.netloc}); refusing to send credentials",
                error_summary="Link to another host",
            )

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        auth: bool = True,
        held: str | None = None,
    ) -> httpx.Response:
        """One HTTP exchange through the governor, with one token refresh on a 401.

        ``held`` is a concurrency slot the caller already holds (a paginated walk)."""
        self._check_url(url)
        bucket = bucket_for(method, urlsplit(url).path or url)
        for attempt in (1, 2):
            headers: dict[str, str] = {}
            used_token = ""
            if auth:
                headers["Authorization"], used_token = self._auth_header(held)
            slot = None
            if self.governor is not None:
                slot = self.governor.before(bucket, sleep=self.sleep, held=held)
            try:
                response = self._http.request(
                    method,
                    url,
                    params=_clean_params(params),
                    json=json_body,
                    data=data,
                    headers=headers,
                )
            except httpx.TimeoutException as exc:
                raise OktaError(
                    f"Okta did not answer in time ({type(exc).__name__})",
                    error_summary="Timeout",
                    retryable=True,
                ) from exc
            except (httpx.TransportError, OSError) as exc:
                raise OktaError(
                    f"Could not talk to Okta: {type(exc).__name__}: {exc}",
                    error_summary="Connection error",
                    retryable=True,
                ) from exc
            finally:
                if self.governor is not None:
                    self.governor.after(bucket, slot)
            if self.governor is not None:
                self.governor.record(bucket, response.status_code, response.headers)
            self.last_status = response.status_code
            self.last_request_id = response.headers.get("x-okta-request-id", "")
            if response.status_code == 401 and used_token and attempt == 1:
                self._tokens.clear(used_token)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        ok_statuses: Sequence[int] = (),
        held: str | None = None,
    ) -> httpx.Response:
        """Send with retries: transient failures are retried only for idempotent calls."""
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")

        def attempt() -> httpx.Response:
            response = self._send_once(method, url, params=params, json_body=json_body, held=held)
            if response.status_code >= 400 and response.status_code not in ok_statuses:
                raise OktaError.from_response(
                    response, retry_after=_retry_after(response, self._now)
                )
            return response

        if not idempotent or self.max_retries == 0:
            return attempt()
        started = time.monotonic()
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, OktaError) and e.retryable)
            & _within(started, self.max_retry_seconds, self._wait),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)

    @staticmethod
    def _now() -> float:
        return time.time()

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        """Jittered exponential backoff, or exactly what Okta asked for after a 429."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, OktaError) and exc.retry_after is not None:
            return max(exc.retry_after, 0.0) + random.uniform(0, 0.25)
        base = min(0.5 * 2 ** (state.attempt_number - 1), 30.0)
        return random.uniform(base / 2, base)

    def _get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self._request("GET", url, params=params))

    def _post_json(
        self,
        url: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> Any:
        response = self._request("POST", url, params=params, json_body=body, idempotent=idempotent)
        return _json(response) if response.content else {}

    # --- pagination ---------------------------------------------------------------------------

    @contextmanager
    def slot(self) -> Iterator[Slot]:
        """One concurrency slot held across many walks (a fetch thread's whole run).

        Pass it to ``iter_pages(..., slot=...)``: a thread walking thousands of short lists
        then takes and gives back one slot in all, not one per list (each is a cache round
        trip or three).
        """
        held = Slot(self.governor.hold(sleep=self.sleep) if self.governor else None)
        try:
            yield held
        finally:
            if self.governor is not None:
                self.governor.release(held.key)

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        stop_on_empty: bool = True,
        slot: Slot | None = None,
    ) -> PageStream:
        """Pages of raw JSON objects, following ``rel="next"`` until the list ends.

        Holds one page at a time. A page with no items ends the walk (System Log polling hands
        out a next link forever); a next link pointing at the same URL also ends it. The walk
        holds one concurrency slot: its own, or the caller's ``slot`` (see ``slot()``).
        """
        if slot is not None:
            yield from self._walk_pages(path, params, stop_on_empty=stop_on_empty, held=slot.key)
            return
        held = self.governor.hold(sleep=self.sleep) if self.governor else None
        try:
            yield from self._walk_pages(path, params, stop_on_empty=stop_on_empty, held=held)
        finally:
            if self.governor is not None:
                self.governor.release(held)

    def _walk_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        *,
        stop_on_empty: bool,
        held: str | None,
    ) -> PageStream:
        url: str | None = path
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while url:
            response = self._request("GET", url, params=query, held=held)
            body = _json(response)
            if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
                raise _malformed(f"expected a list of objects from {urlsplit(url).path}", response)
            links = parse_links(response.headers.get_list("link"))
            next_url = links.get("next")
            if next_url:
                self._check_url(next_url)
            if not body and stop_on_empty:
                return
            yield Page(items=body, next_url=next_url, after=_after_of(next_url))
            if not next_url or next_url in seen or next_url == str(response.request.url):
                return
            seen.add(next_url)
            url, query = next_url, None

    def _iter(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        parse: Callable[[Any], T],
    ) -> Iterator[T]:
        for page in self.iter_pages(path, params):
            for item in page.items:
                yield parse(item)

    # Page-level variants (raw dicts per page) for bulk writers.

    def user_pages(
        self, *, search: str = "", filter: str = "", limit: int = PAGE_SIZES["users"]
    ) -> PageStream:
        return self.iter_pages(
            "/api/v1/users", {"limit": limit, "search": search, "filter": filter}
        )

    def group_pages(
        self,
        *,
        search: str = "",
        filter: str = "",
        q: str = "",
        limit: int = PAGE_SIZES["groups"],
    ) -> PageStream:
        return self.iter_pages(
            "/api/v1/groups", {"limit": limit, "search": search, "filter": filter, "q": q}
        )

    def group_member_pages(
        self, group_id: str, *, limit: int = PAGE_SIZES["group_members"]
    ) -> PageStream:
        return self.iter_pages(f"/api/v1/groups/{_id(group_id)}/users", {"limit": limit})

    def app_pages(
        self, *, filter: str = "", q: str = "", limit: int = PAGE_SIZES["apps"]
    ) -> PageStream:
        return self.iter_pages("/api/v1/apps", {"limit": limit, "filter": filter, "q": q})

    def app_user_pages(self, app_id: str, *, limit: int = PAGE_SIZES["app_users"]) -> PageStream:
        return self.iter_pages(f"/api/v1/apps/{_id(app_id)}/users", {"limit": limit})

    def log_pages(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        filter: str = "",
        q: str = "",
        after: str | None = None,
        sort_order: Literal["ASCENDING", "DESCENDING"] = "ASCENDING",
        limit: int = PAGE_SIZES["logs"],
    ) -> PageStream:
        """System Log pages. Store the last page's ``after`` to resume polling from there."""
        params = {
            "limit": limit,
            "since": _iso(since),
            "until": _iso(until),
            "filter": filter,
            "q": q,
            "after": after,
            "sortOrder": sort_order,
        }
        return self.iter_pages("/api/v1/logs", params)

    # Typed iterators.

    def iter_users(self, *, search: str = "", filter: str = "") -> Iterator[User]:
        return self._iter(
            "/api/v1/users",
            {"limit": PAGE_SIZES["users"], "search": search, "filter": filter},
            User.from_json,
        )

    def iter_groups(self, *, search: str = "", filter: str = "", q: str = "") -> Iterator[Group]:
        params = {"limit": PAGE_SIZES["groups"], "search": search, "filter": filter, "q": q}
        return self._iter("/api/v1/groups", params, Group.from_json)

    def iter_group_members(self, group_id: str) -> Iterator[User]:
        return self._iter(
            f"/api/v1/groups/{_id(group_id)}/users",
            {"limit": PAGE_SIZES["group_members"]},
            User.from_json,
        )

    def iter_apps(self, *, filter: str = "", q: str = "") -> Iterator[App]:
        params = {"limit": PAGE_SIZES["apps"], "filter": filter, "q": q}
        return self._iter("/api/v1/apps", params, App.from_json)

    def iter_app_users(self, app_id: str) -> Iterator[AppUser]:
        return self._iter(
            f"/api/v1/apps/{_id(app_id)}/users",
            {"limit": PAGE_SIZES["app_users"]},
            AppUser.from_json,
        )

    def iter_logs(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        filter: str = "",
        q: str = "",
        after: str | None = None,
    ) -> Iterator[LogEvent]:
        for page in self.log_pages(since=since, until=until, filter=filter, q=q, after=after):
            for item in page.items:
                yield LogEvent.from_json(item)

    def iter_user_groups(self, user_id: str) -> Iterator[Group]:
        return self._iter(f"/api/v1/users/{_id(user_id)}/groups", None, Group.from_json)

    def iter_user_apps(self, user_id: str) -> Iterator[App]:
        """Apps assigned to a user (directly or through a group)."""
        return self.iter_apps(filter=f'user.id eq "{_id(user_id)}"')

    def iter_role_assignees(self) -> Iterator[str]:
        """Ids of users holding admin roles (``/api/v1/iam/assignees/users``; body-paginated)."""
        url: str | None = "/api/v1/iam/assignees/users"
        params: Mapping[str, Any] | None = {"limit": 100}
        while url:
            body = _obj_or_malformed(self._get_json(url, params), "role assignees")
            values = body.get("value") or []
            if not isinstance(values, list):
                raise OktaError("Okta sent a malformed role assignees list")
            for item in values:
                yield _req(_obj(item, "role assignee"), "id", "role assignee")
            links = _obj(body.get("_links") or {}, "role assignees links")
            nxt = _obj(links.get("next") or {}, "role assignees next link").get("href")
            if nxt is not None and not isinstance(nxt, str):
                raise OktaError("Okta sent a malformed role assignees next link")
            if nxt:
                self._check_url(nxt)
            url, params = (nxt or None), None

    # --- users --------------------------------------------------------------------------------

    def get_user(self, id_or_login: str) -> User:
        """A user by id, login, or ``"me"`` (the token's own user)."""
        return User.from_json(self._get_json(f"/api/v1/users/{_id(id_or_login)}"))

    def find_user(self, id_or_login: str) -> User | None:
        try:
            return self.get_user(id_or_login)
        except OktaError as exc:
            if exc.is_not_found:
                return None
            raise

    def create_user(
        self,
        profile: Mapping[str, Any],
        *,
        activate: bool = True,
        next_login_change_password: bool = False,
        credentials: Mapping[str, Any] | None = None,
        group_ids: Sequence[str] = (),
    ) -> User:
        """Create a user; a transient failure is retried only after checking the login is free."""
        body: Json = {"profile": dict(profile)}
        if credentials:
            body["credentials"] = dict(credentials)
        if group_ids:
            body["groupIds"] = list(group_ids)
        params = {"activate": _bool(activate)}
        if next_login_change_password:
            params["nextLogin"] = "changePassword"
        login = str(profile.get("login") or "")
        return self._create_checked(
            lambda: User.from_json(self._post_json("/api/v1/users", body, params=params)),
            lambda: self.find_user(login) if login else None,
        )

    def update_user(self, user_id: str, profile: Mapping[str, Any]) -> User:
        """Partial profile update (POST): only the given attributes change. Safe to repeat."""
        return User.from_json(
            self._post_json(
                f"/api/v1/users/{_id(user_id)}", {"profile": dict(profile)}, idempotent=True
            )
        )

    def _lifecycle(
        self, user_id: str, action: str, params: Mapping[str, Any] | None = None
    ) -> Json:
        body = self._post_json(
            f"/api/v1/users/{_id(user_id)}/lifecycle/{action}", params=params, idempotent=True
        )
        return body if isinstance(body, dict) else {}

    def activate_user(self, user_id: str, *, send_email: bool = True) -> Json:
        """Returns ``{activationUrl, activationToken}`` when ``send_email`` is False."""
        return self._lifecycle(user_id, "activate", {"sendEmail": _bool(send_email)})

    def reactivate_user(self, user_id: str, *, send_email: bool = True) -> Json:
        return self._lifecycle(user_id, "reactivate", {"sendEmail": _bool(send_email)})

    def deactivate_user(self, user_id: str, *, send_email: bool = False) -> None:
        self._lifecycle(user_id, "deactivate", {"sendEmail": _bool(send_email)})

    def suspend_user(self, user_id: str) -> None:
        self._lifecycle(user_id, "suspend")

    def unsuspend_user(self, user_id: str) -> None:
        self._lifecycle(user_id, "unsuspend")

    def unlock_user(self, user_id: str) -> None:
        self._lifecycle(user_id, "unlock")

    def reset_password(self, user_id: str, *, send_email: bool = True) -> str | None:
        """Start a password reset; returns the one-time ``resetPasswordUrl`` when not emailed."""
        body = self._lifecycle(user_id, "reset_password", {"sendEmail": _bool(send_email)})
        url = body.get("resetPasswordUrl")
        return str(url) if url else None

    def expire_password(self, user_id: str) -> None:
        self._lifecycle(user_id, "expire_password")

    def expire_password_with_temp_password(
        self, user_id: str, *, revoke_sessions: bool = False
    ) -> str:
        """Expire the password and return the one-time temporary password."""
        body = self._lifecycle(
            user_id,
            "expire_password_with_temp_password",
            {"revokeSessions": _bool(revoke_sessions)},
        )
        temp = body.get("tempPassword")
        if not temp and isinstance(body.get("user"), dict):
            temp = body["user"].get("tempPassword")
        if not isinstance(temp, str) or not temp:
            raise OktaError("Okta sent a malformed response: no tempPassword")
        return temp

    def reset_factors(self, user_id: str) -> None:
        self._lifecycle(user_id, "reset_factors")

    def delete_user(self, user_id: str, *, send_email: bool = False) -> None:
        """Delete a user (Okta requires DEPROVISIONED first; a second call on an active user
        deactivates). A 404 counts as done."""
        self._request(
            "DELETE",
            f"/api/v1/users/{_id(user_id)}",
            params={"sendEmail": _bool(send_email)},
            ok_statuses=(404,),
        )

    def clear_sessions(self, user_id: str, *, oauth_tokens: bool = True) -> None:
        self._request(
            "DELETE",
            f"/api/v1/users/{_id(user_id)}/sessions",
            params={"oauthTokens": _bool(oauth_tokens)},
        )

    def list_user_groups(self, user_id: str) -> list[Group]:
        return list(self.iter_user_groups(user_id))

    def list_user_roles(self, user_id: str) -> list[Role]:
        body = self._get_json(f"/api/v1/users/{_id(user_id)}/roles")
        if not isinstance(body, list):
            raise OktaError("Okta sent a malformed role list")
        return [Role.from_json(item) for item in body]

    def list_user_apps(self, user_id: str) -> list[App]:
        return list(self.iter_user_apps(user_id))

    # --- groups -------------------------------------------------------------------------------

    def get_group(self, group_id: str) -> Group:
        return Group.from_json(self._get_json(f"/api/v1/groups/{_id(group_id)}"))

    def find_group_by_name(self, name: str) -> Group | None:
        """The OKTA_GROUP whose name is exactly ``name`` (``q`` is a prefix search)."""
        for group in self.iter_groups(q=name):
            if group.name == name and group.type == "OKTA_GROUP":
                return group
        return None

    def create_group(self, name: str, description: str = "") -> Group:
        """Create an OKTA_GROUP; a transient failure is retried after checking the name."""
        body = {"profile": {"name": name, "description": description}}
        return self._create_checked(
            lambda: Group.from_json(self._post_json("/api/v1/groups", body)),
            lambda: self.find_group_by_name(name),
        )

    def update_group(self, group_id: str, *, name: str, description: str = "") -> Group:
        body = {"profile": {"name": name, "description": description}}
        response = self._request("PUT", f"/api/v1/groups/{_id(group_id)}", json_body=body)
        return Group.from_json(_json(response))

    def delete_group(self, group_id: str) -> None:
        """Delete a group; a 404 counts as done."""
        self._request("DELETE", f"/api/v1/groups/{_id(group_id)}", ok_statuses=(404,))

    def add_group_member(self, group_id: str, user_id: str) -> None:
        """PUT is idempotent in Okta: adding an existing member succeeds."""
        self._request("PUT", f"/api/v1/groups/{_id(group_id)}/users/{_id(user_id)}")

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        """Remove a member; a 404 (not a member) is an error for the caller to judge."""
        self._request("DELETE", f"/api/v1/groups/{_id(group_id)}/users/{_id(user_id)}")

    # --- apps ---------------------------------------------------------------------------------

    def get_app(self, app_id: str) -> App:
        return App.from_json(self._get_json(f"/api/v1/apps/{_id(app_id)}"))

    def get_app_user(self, app_id: str, user_id: str) -> AppUser | None:
        try:
            body = self._get_json(f"/api/v1/apps/{_id(app_id)}/users/{_id(user_id)}")
        except OktaError as exc:
            if exc.is_not_found:
                return None
            raise
        return AppUser.from_json(body)

    def assign_app_user(self, app_id: str, user_id: str, *, scope: str = "USER") -> AppUser:
        """Assign a user to an app. Okta treats a repeat as an update, so it is safe to retry."""
        body = {"id": user_id, "scope": scope}
        return AppUser.from_json(
            self._post_json(f"/api/v1/apps/{_id(app_id)}/users", body, idempotent=True)
        )

    def unassign_app_user(self, app_id: str, user_id: str, *, send_email: bool = False) -> None:
        self._request(
            "DELETE",
            f"/api/v1/apps/{_id(app_id)}/users/{_id(user_id)}",
            params={"sendEmail": _bool(send_email)},
        )

    # --- event hooks --------------------------------------------------------------------------

    def create_event_hook(
        self,
        *,
        name: str,
        url: str,
        events: Sequence[str],
        auth_header: str = "Authorization",
        auth_value: str = "",
    ) -> EventHook:
        config: Json = {"uri": url, "headers": []}
        if auth_value:
            config["authScheme"] = {"type": "HEADER", "key": auth_header, "value": auth_value}
        body = {
            "name": name,
            "events": {"type": "EVENT_TYPE", "items": list(events)},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
        }
        return EventHook.from_json(self._post_json("/api/v1/eventHooks", body))

    def get_event_hook(self, hook_id: str) -> EventHook:
        return EventHook.from_json(self._get_json(f"/api/v1/eventHooks/{_id(hook_id)}"))

    def list_event_hooks(self) -> list[EventHook]:
        body = self._get_json("/api/v1/eventHooks")
        if not isinstance(body, list):
            raise OktaError("Okta sent a malformed event hook list")
        return [EventHook.from_json(item) for item in body]

    def _hook_lifecycle(self, hook_id: str, action: str) -> EventHook:
        return EventHook.from_json(
            self._post_json(
                f"/api/v1/eventHooks/{_id(hook_id)}/lifecycle/{action}", idempotent=True
            )
        )

    def activate_event_hook(self, hook_id: str) -> EventHook:
        return self._hook_lifecycle(hook_id, "activate")

    def deactivate_event_hook(self, hook_id: str) -> EventHook:
        return self._hook_lifecycle(hook_id, "deactivate")

    def verify_event_hook(self, hook_id: str) -> EventHook:
        return self._hook_lifecycle(hook_id, "verify")

    def delete_event_hook(self, hook_id: str) -> None:
        self._request("DELETE", f"/api/v1/eventHooks/{_id(hook_id)}", ok_statuses=(404,))

    # --- helpers ------------------------------------------------------------------------------

    def _create_checked(self, create: Callable[[], T], existing: Callable[[], T | None]) -> T:
        """Run a non-idempotent create; after a transient failure, look before creating again."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return create()
            except OktaError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.max_retries:
                    raise
                delay = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else random.uniform(0.25, 0.5) * 2 ** (attempt - 1)
                )
                if time.monotonic() - started + delay > self.max_retry_seconds:
                    raise
                self.sleep(delay)
                found = existing()
                if found is not None:
                    return found


class _within:
    """A tenacity retry condition: stop when the next wait would pass the total time budget."""

    def __init__(
        self, started: float, budget: float, wait: Callable[[RetryCallState], float]
    ) -> None:
        self.started, self.budget, self.wait = started, budget, wait

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        upcoming = exc.retry_after if isinstance(exc, OktaError) and exc.retry_after else 0.0
        return time.monotonic() - self.started + (upcoming or 0.0) <= self.budget


def _json(response: httpx.Response) -> Any:
    if not response.content:
        raise _malformed("empty body", response)
    try:
        # orjson: a full sync parses 1.25 million objects; this is its largest CPU cost.
        return orjson.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed("body is not JSON", response) from exc


def _obj_or_malformed(body: Any, what: str) -> Json:
    if not isinstance(body, dict):
        raise OktaError(f"Okta sent a malformed {what}: expected an object")
    return body


def _retry_after(response: httpx.Response, now: Callable[[], float]) -> float | None:
    """Seconds to wait after a 429: until ``X-Rate-Limit-Reset``, plus a second for the
    one-second resolution of the headers."""
    if response.status_code != 429:
        return None
    try:
        reset = float(response.headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return 1.0
    return seconds_until_reset(reset, response.headers.get("date"), now()) + 1.0


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v not in (None, "")}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.isoformat().replace("+00:00", "Z")


_ID_RE = re.compile(r"^[A-Za-z0-9@._+\-]+$")


def _id(value: str) -> str:
    """A path segment: Okta ids, logins and ``me``; anything else is refused, not escaped."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise OktaError(f"Not a valid Okta id or login: {value!r}", error_summary="Invalid id")
    return value


def get_client(
    *,
    org_url: str | None = None,
    token: str | None = None,
    client_id: str | None = None,
    private_key: str | None = None,
    scopes: Sequence[str] | None = None,
    transport: httpx.BaseTransport | None = None,
    governor: Governor | Literal["default"] | None = "default",
) -> OktaClient:
    """A client configured from settings; any argument given overrides its setting.

    Explicit credentials replace the settings' credentials as a whole (a token given here
    ignores OKTA_CLIENT_ID and vice versa).
    """
    from django.conf import settings
    from django.core.cache import caches

    from okta.governor import CacheGovernor

    explicit = token is not None or client_id is not None
    if not explicit:
        token = settings.OKTA_API_TOKEN or None
        client_id = settings.OKTA_CLIENT_ID or None
        private_key = settings.OKTA_PRIVATE_KEY or None
    return OktaClient(
        org_url if org_url is not None else settings.OKTA_ORG_URL,
        token=token,
        client_id=client_id,
        private_key=private_key,
        scopes=tuple(scopes if scopes is not None else settings.OKTA_SCOPES),
        transport=transport,
        timeout=settings.OKTA_TIMEOUT_SECONDS,
        governor=(
            CacheGovernor(concurrency_limit=settings.OKTA_CONCURRENCY_LIMIT)
            if governor == "default"
            else governor
        ),
        max_retries=settings.OKTA_MAX_RETRIES,
        token_cache=caches["default"],
    )


__all__ = [
    "App",
    "AppUser",
    "EventHook",
    "Group",
    "LogEvent",
    "OktaClient",
    "OktaError",
    "Page",
    "Role",
    "Slot",
    "User",
    "get_client",
    "parse_links",
]
