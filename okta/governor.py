"""Rate-limit governor: keeps every worker of one Okta org inside the org's limits together.

Okta counts requests per bucket (an endpoint family, per minute) and reports
``X-Rate-Limit-Limit / -Remaining / -Reset`` on every response; it also caps concurrent requests
per org. ``CacheGovernor`` keeps what it learns in Django's cache (Redis in production), so
every process sees the same picture:

- below a watermark of remaining calls, requests are spread evenly over the time left to the
  reset (a smooth slow-down, not a burst followed by a stop);
- after a 429, every process waits until the bucket resets;
- in-flight requests are capped org-wide by slot keys added with a TTL, so a killed worker's
  slot frees itself.

Cost on the hot path: each process keeps a local copy of every bucket and exchanges it with
the cache at most once a second (immediately after a 429); a paginated walk holds one
concurrency slot for the whole walk. A sync of 12,000 requests thus makes a few hundred cache
round trips, not tens of thousands.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Sleep = Callable[[float], None]

_BUCKET_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/oauth2/"), "token"),
    (re.compile(r"^/api/v1/iam/"), "roles"),
    (re.compile(r"^/api/v1/users/[^/]+/roles"), "roles"),
    (re.compile(r"^/api/v1/users/[^/]+/groups"), "user_groups"),
    (re.compile(r"^/api/v1/users/me$"), "users_me"),
    (re.compile(r"^/api/v1/users"), "users"),
    (re.compile(r"^/api/v1/groups/[^/]+/users"), "group_members"),
    (re.compile(r"^/api/v1/groups"), "groups"),
    (re.compile(r"^/api/v1/apps/[^/]+/users"), "app_users"),
    (re.compile(r"^/api/v1/apps"), "apps"),
    (re.compile(r"^/api/v1/logs"), "logs"),
    (re.compile(r"^/api/v1/eventHooks"), "event_hooks"),
]


def bucket_for(method: str, path: str) -> str:
    """The Okta rate-limit bucket (endpoint family) a request counts against.

    Okta keeps separate per-minute limits for reads and writes of some families; the method is
    part of the bucket for users, which is where the difference is large.
    """
    for pattern, bucket in _BUCKET_RULES:
        if pattern.match(path):
            if bucket == "users" and method != "GET":
                return "users_write"
            return bucket
    return "other"


class Governor(Protocol):
    def before(self, bucket: str, *, sleep: Sleep) -> None:
        """Wait until a request to ``bucket`` may go out, and take a concurrency slot."""

    def after(self, bucket: str) -> None:
        """The request finished (with or without a response): give the slot back."""

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's rate-limit headers."""

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Hold one concurrency slot across several sequential requests (a paginated walk)."""


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


class _Held(threading.local):
    slot: str | None = None
    depth: int = 0
    touched_at: float = 0.0


class CacheGovernor:
    """The shared governor. ``cache`` defaults to Django's default cache.

    ``low_fraction``: below this share of the bucket's limit, calls are spread over the time to
    the reset. ``sync_interval``: how stale the local copy of a bucket may get. ``slot_ttl``:
    how long a slot outlives a worker that died holding it.
    """

    def __init__(
        self,
        *,
        concurrency_limit: int = 20,
        cache: Any = None,
        low_fraction: float = 0.5,
        sync_interval: float = 1.0,
        slot_ttl: int = 90,
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
        self.prefix = prefix
        self.clock = clock
        self._states: dict[str, BucketState] = {}
        self._lock = threading.Lock()
        self._held = _Held()
        self._owner = uuid.uuid4().hex

    # --- bucket state ---------------------------------------------------------------------

    def state(self, bucket: str) -> BucketState:
        with self._lock:
            state = self._states.get(bucket)
            if state is None:
                state = self._states[bucket] = BucketState()
            return state

    def _key(self, bucket: str) -> str:
        return f"{self.prefix}:rl:{bucket}"

    def _pull(self, bucket: str, state: BucketState, now: float) -> None:
        state.pulled_at = now
        shared = self.cache.get(self._key(bucket))
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
        self.cache.set(self._key(bucket), state.as_shared(), ttl)

    def pacing_delay(self, state: BucketState, now: float) -> float:
        """How long to wait before the next call so the remaining calls last until the reset."""
        if state.blocked_until > now:
            return state.blocked_until - now
        if state.limit <= 0 or state.reset_at <= now:
            return 0.0
        if state.remaining > state.limit * self.low_fraction:
            return 0.0
        interval = (state.reset_at - now) / max(state.remaining, 1)
        return max(state.last_sent + interval - now, 0.0)

    def before(self, bucket: str, *, sleep: Sleep) -> None:
        state = self.state(bucket)
        now = self.clock()
        if now - state.pulled_at >= self.sync_interval:
            self._pull(bucket, state, now)
        delay = self.pacing_delay(state, now)
        if delay > 0:
            sleep(delay + (random.uniform(0, 0.05) if state.blocked_until > now else 0.0))
            now = self.clock()
        if state.remaining > 0:
            state.remaining -= 1  # an estimate until the response says
        state.last_sent = now
        self._acquire_slot(sleep)

    def after(self, bucket: str) -> None:
        self._release_slot()

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        state = self.state(bucket)
        now = self.clock()
        limit = _int(headers.get("x-rate-limit-limit"))
        remaining = _int(headers.get("x-rate-limit-remaining"))
        reset = _int(headers.get("x-rate-limit-reset"))
        if reset is not None:
            server_now = _http_date(headers.get("date")) or now
            state.reset_at = now + max(reset - server_now, 0)
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

    def _acquire_slot(self, sleep: Sleep) -> None:
        held = self._held
        if held.slot is not None:
            held.depth += 1
            now = self.clock()
            if now - held.touched_at > self.slot_ttl / 3:
                self.cache.touch(held.slot, self.slot_ttl)
                held.touched_at = now
            return
        wait = 0.02
        while True:
            start = random.randrange(self.concurrency_limit)
            for offset in range(self.concurrency_limit):
                key = self._slot_key((start + offset) % self.concurrency_limit)
                if self.cache.add(key, self._owner, self.slot_ttl):
                    held.slot, held.depth, held.touched_at = key, 1, self.clock()
                    return
            sleep(random.uniform(wait / 2, wait))
            wait = min(wait * 2, 1.0)

    def _release_slot(self) -> None:
        held = self._held
        if held.slot is None:
            return
        held.depth -= 1
        if held.depth <= 0:
            self.cache.delete(held.slot)
            held.slot, held.depth = None, 0

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        self._acquire_slot(time.sleep)
        try:
            yield
        finally:
            self._release_slot()

    def in_flight(self) -> int:
        """Slots taken org-wide right now (for tests and the admin page)."""
        keys = [self._slot_key(i) for i in range(self.concurrency_limit)]
        return len(self.cache.get_many(keys))


class NullGovernor:
    """No pacing and no shared state: for unit tests and one-off scripts."""

    def before(self, bucket: str, *, sleep: Sleep) -> None:
        return None

    def after(self, bucket: str) -> None:
        return None

    def record(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        return None

    def session(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
