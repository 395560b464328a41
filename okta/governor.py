"""Rate-limit governor: keeps every worker of one Okta org inside the org's limits together.

Okta counts requests per bucket (an endpoint family, per minute) and reports
``X-Rate-Limit-Limit / -Remaining / -Reset`` on every response; it also caps concurrent requests
per org. ``CacheGovernor`` keeps what it learns in Django's cache (Redis in production), so
every process sees the same picture:

- below a watermark of remaining calls, requests are spread evenly over the time left to the
  reset (a smooth slow-down, not a burst followed by a stop);
- after a 429, every process waits until the bucket resets;
- in-flight requests are capped org-wide by slot keys added with a TTL, so a killed worker's
  slot frees itself. A paginated walk holds one slot from its first page to its last (the
  slot travels with the walk, not with a thread, so a walk may hop threads).

Cost on the hot path: each process keeps a local copy of every bucket and exchanges it with
the cache at most once a second (immediately after a 429); a paginated walk holds one
concurrency slot for the whole walk, and a sync's fetch thread one for all the walks it makes
(``OktaClient.slot()``): a slot costs three round trips, and most member lists are one page.
A full sync of 12,000 requests thus makes a few hundred cache round trips, not tens of
thousands.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Sleep = Callable[[float], None]
log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/v1/token"


def bucket_for(method: str, path: str) -> str:
    """The Okta rate-limit bucket a request counts against, named as Okta's rate-limit
    documentation names them (developer.okta.com/docs/reference/rl-global-mgmt/), so the limits
    Okta reports in each response's ``X-Rate-Limit-*`` headers are kept per bucket as Okta keeps
    them. The sandbox counts requests with this same function (docs/okta-sandbox.md).

    Listing or creating (``/api/v1/users``) and acting on one object (``/api/v1/users/{id}``)
    are separate buckets; reading one user is its own (``/api/v1/users/{idOrLogin}``); every
    request under one app (``/api/v1/apps/{id}/users`` …) counts with ``/api/v1/apps``; a user's
    roles count with ``/api/v1/iam``; whatever else ``/api/v1`` serves shares ``/api/v1``.
    """
    if path == TOKEN_PATH:
        return TOKEN_PATH
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[:2] != ["api", "v1"]:
        return "/api/v1"
    family = parts[2]
    if family == "users" and len(parts) >= 5 and parts[4] == "roles":
        return "/api/v1/iam"
    if family == "users" and len(parts) == 4 and method == "GET" and parts[3] != "me":
        return "/api/v1/users/{idOrLogin}"
    if family == "apps" and len(parts) > 4:
        return "/api/v1/apps"
    if family in ("users", "groups", "apps"):
        return f"/api/v1/{family}" if len(parts) == 3 else f"/api/v1/{family}/{{id}}"
    if family in ("logs", "eventHooks", "iam"):
        return f"/api/v1/{family}"
    return "/api/v1"


class Governor(Protocol):
    def before(self, bucket: str, *, sleep: Sleep, held: str | None = None) -> str | None:
        """Wait until a request to ``bucket`` may go out. Unless the caller already ``held`` a
        concurrency slot, take one and return its key (give it to ``after``)."""

    def after(self, bucket: str, slot: str | None) -> None:
        """The request finished (with or without a response): give back the slot it took."""

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's rate-limit headers."""

    def hold(self, *, sleep: Sleep) -> str | None:
        """Take one concurrency slot for several sequential requests (a paginated walk)."""

    def release(self, slot: str | None) -> None:
        """Give back a slot from ``hold`` (from any thread)."""


@dataclass
class BucketState:
    limit: int = 0
    remaining: int = 0
    reset_at: float = 0.0  # local epoch seconds
    blocked_until: float = 0.0
    observed_at: float = 0.0
    pulled_at: float = 0.0
    pushed_at: float = 0.0
    last_sent: float = 0.0

    def as_shared(self) -> dict[str, float]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_at": self.reset_at,
            "blocked_until": self.blocked_until,
            "observed_at": self.observed_at,
        }


class CacheGovernor:
    """The shared governor. ``cache`` defaults to Django's default cache.

    ``low_fraction``: below this share of the bucket's limit, calls are spread over the time to
    the reset. ``sync_interval``: how stale the local copy of a bucket may get. ``slot_ttl``:
    how long a slot outlives a worker that died holding it. ``cache_retry_seconds``: how long a
    failed cache is bypassed (calls then pace on local state only). Every cache call is bounded
    by the cache's own timeouts (settings give Redis socket timeouts).
    """

    def __init__(
        self,
        *,
        concurrency_limit: int = 20,
        cache: Any = None,
        low_fraction: float = 0.5,
        sync_interval: float = 1.0,
        slot_ttl: int = 90,
        slot_wait_max: float = 30.0,
        cache_retry_seconds: float = 5.0,
        prefix: str = "okta:gov",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.cache = cache
        self.concurrency_limit = max(int(concurrency_limit), 1)
        self.low_fraction = low_fraction
        self.sync_interval = sync_interval
        self.slot_ttl = slot_ttl
        self.slot_wait_max = slot_wait_max
        self.cache_retry_seconds = cache_retry_seconds
        self._cache_down_until = 0.0
        self.prefix = prefix
        self.clock = clock
        self._states: dict[str, BucketState] = {}
        self._lock = threading.Lock()
        self._touched: dict[str, tuple[str, float]] = {}  # held slot -> (owner token, touched)

    # --- bucket state ---------------------------------------------------------------------

    def state(self, bucket: str) -> BucketState:
        with self._lock:
            state = self._states.get(bucket)
            if state is None:
                state = self._states[bucket] = BucketState()
            return state

    def _cache(self, name: str, *args: Any, default: Any = None) -> Any:
        """One cache round trip. A broken cache must not stop Okta calls: pace locally.

        After a failure the cache is left alone for ``cache_retry_seconds``, so a cache that
        fails slowly (a timeout per call) costs one timeout, not one per request.
        """
        if time.monotonic() < self._cache_down_until:
            return default
        try:
            return getattr(self.cache, name)(*args)
        except Exception:
            log.warning("rate-limit governor: cache %s failed", name, exc_info=True)
            self._cache_down_until = time.monotonic() + self.cache_retry_seconds
            return default

    def _key(self, bucket: str) -> str:
        return f"{self.prefix}:rl:{bucket}"

    def _pull(self, bucket: str, state: BucketState, now: float) -> None:
        state.pulled_at = now
        shared = self._cache("get", self._key(bucket))
        if not isinstance(shared, dict):
            return
        state.blocked_until = max(state.blocked_until, float(shared.get("blocked_until", 0)))
        if float(shared.get("observed_at", 0)) > state.observed_at:
            state.limit = int(shared.get("limit", 0))
            state.remaining = int(shared.get("remaining", 0))
            state.reset_at = float(shared.get("reset_at", 0))
            state.observed_at = float(shared["observed_at"])

    def _push(self, bucket: str, state: BucketState, now: float) -> None:
        state.pushed_at = now
        ttl = max(int(max(state.reset_at, state.blocked_until) - now) + 60, 60)
        self._cache("set", self._key(bucket), state.as_shared(), ttl)

    def send_time(self, state: BucketState, now: float) -> float:
        """When the next call may go so the remaining calls last until the reset."""
        if state.blocked_until > now:
            return state.blocked_until + random.uniform(0, 0.05)
        if state.limit <= 0 or state.reset_at <= now:
            return now
        if state.remaining > state.limit * self.low_fraction:
            return now
        interval = (state.reset_at - now) / max(state.remaining, 1)
        return max(now, state.last_sent + interval)

    def before(self, bucket: str, *, sleep: Sleep, held: str | None = None) -> str | None:
        state = self.state(bucket)
        now = self.clock()
        if now - state.pulled_at >= self.sync_interval:
            self._pull(bucket, state, now)
        with self._lock:  # threads of one process queue for send times instead of colliding
            at = self.send_time(state, now)
            state.last_sent = at
            if state.remaining > 0:
                state.remaining -= 1  # an estimate until the response says
        if at > now:
            sleep(at - now)
        if held is not None:
            self._touch(held, self.clock())
            return None
        return self._acquire(sleep, "")

    def after(self, bucket: str, slot: str | None) -> None:
        if slot is not None:
            self._cache("delete", slot)

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        state = self.state(bucket)
        now = self.clock()
        limit = _int(headers.get("x-rate-limit-limit"))
        remaining = _int(headers.get("x-rate-limit-remaining"))
        reset = _int(headers.get("x-rate-limit-reset"))
        if reset is not None:
            state.reset_at = now + seconds_until_reset(reset, headers.get("date"), now)
        if limit is not None:
            state.limit = limit
        if remaining is not None:
            state.remaining = remaining
        if limit is not None or remaining is not None:
            state.observed_at = now
        urgent = False
        if status == 429:
            state.remaining = 0
            state.blocked_until = max(state.blocked_until, state.reset_at or now + 1.0)
            urgent = True
        elif state.limit and state.remaining <= state.limit * self.low_fraction:
            urgent = now - state.pushed_at >= self.sync_interval / 4
        if urgent or now - state.pushed_at >= self.sync_interval:
            self._push(bucket, state, now)

    # --- concurrency ----------------------------------------------------------------------

    def _slot_key(self, index: int) -> str:
        return f"{self.prefix}:slot:{index}"

    def _acquire(self, sleep: Sleep, owner: str) -> str | None:
        """Add a free slot key (SET NX with a TTL); wait with backoff while all are taken.

        The cap is soft: after ``slot_wait_max`` seconds the request goes without a slot
        (Okta's own concurrency 429 is handled like any 429). Code that makes a call while
        holding a walk's slot can therefore never wait on itself for long.
        """
        wait = 0.02
        waited = 0.0
        while True:
            start = random.randrange(self.concurrency_limit)
            for offset in range(self.concurrency_limit):
                key = self._slot_key((start + offset) % self.concurrency_limit)
                added = self._cache("add", key, owner or "1", self.slot_ttl, default=None)
                if added is None:
                    return None  # no cache: no org-wide cap, rather than no Okta calls
                if added:
                    return key
            if waited >= self.slot_wait_max:
                log.warning("rate-limit governor: no free slot after %.0f s, going anyway", waited)
                return None
            delay = random.uniform(wait / 2, wait)
            sleep(delay)
            waited += delay
            wait = min(wait * 2, 1.0)

    def _touch(self, slot: str, now: float) -> None:
        owner, touched = self._touched.get(slot, ("", now))
        if now - touched > self.slot_ttl / 3:
            self._cache("touch", slot, self.slot_ttl)
            self._touched[slot] = (owner, now)

    def hold(self, *, sleep: Sleep) -> str | None:
        owner = uuid.uuid4().hex
        slot = self._acquire(sleep, owner)
        if slot is not None:
            self._touched[slot] = (owner, self.clock())
        return slot

    def release(self, slot: str | None) -> None:
        if slot is None:
            return
        owner, _ = self._touched.pop(slot, ("", 0.0))
        # A walk can outlive the slot's TTL if its consumer stalls; then the key may be
        # someone else's by now, and must not be deleted.
        if self._cache("get", slot) == owner:
            self._cache("delete", slot)

    def in_flight(self) -> int:
        """Slots taken org-wide right now (for tests and the admin page)."""
        keys = [self._slot_key(i) for i in range(self.concurrency_limit)]
        return len(self._cache("get_many", keys, default={}))


class NullGovernor:
    """No pacing and no shared state: for unit tests and one-off scripts."""

    def before(self, bucket: str, *, sleep: Sleep, held: str | None = None) -> str | None:
        return None

    def after(self, bucket: str, slot: str | None) -> None:
        return None

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        return None

    def hold(self, *, sleep: Sleep) -> str | None:
        return None

    def release(self, slot: str | None) -> None:
        return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


MAX_RESET_SECONDS = 61.0  # per-minute windows (+1 s resolution): farther is a clock problem


def seconds_until_reset(reset: float, date: str | None, now: float) -> float:
    """Seconds from now until ``X-Rate-Limit-Reset`` (epoch seconds on Okta's clock).

    Okta advises measuring against its ``Date`` header (our clock may be skewed); a proxy or a
    busy server can send a stale ``Date``, though. Of the two estimates the smaller positive
    one wins: waiting too little costs one more 429, waiting too long stalls every worker.
    """
    estimates = [reset - now]
    server_now = _http_date(date)
    if server_now is not None:
        estimates.append(reset - server_now)
    positive = [e for e in estimates if e > 0]
    return min(min(positive), MAX_RESET_SECONDS) if positive else 0.0


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
