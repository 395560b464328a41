"""The rate-limit governor: pacing, 429 waits shared between workers, the concurrency cap."""

from __future__ import annotations

import email.utils
import itertools
import socket
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import respx
from django.core.cache.backends.locmem import LocMemCache

from okta.client import OktaClient
from okta.governor import CacheGovernor, NullGovernor, bucket_for, seconds_until_reset

ORG = "https://acme.okta.test"


class Clock:
    """A fake clock whose sleep moves time forward."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountingCache:
    """Wraps a cache and counts round trips."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def new_cache() -> LocMemCache:
    return LocMemCache(f"gov-{uuid.uuid4().hex}", {})


def headers(clock: Clock, *, limit: int, remaining: int, reset_in: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(clock.now) + reset_in),
        "date": email.utils.formatdate(int(clock.now), usegmt=True),
    }


def test_bucket_for_maps_endpoint_families() -> None:
    # Okta's own bucket names: the limits each response reports are kept per Okta bucket.
    assert bucket_for("GET", "/api/v1/users") == "/api/v1/users"
    assert bucket_for("POST", "/api/v1/users/00u1/lifecycle/suspend") == "/api/v1/users/{id}"
    assert bucket_for("GET", "/api/v1/users/00u1") == "/api/v1/users/{idOrLogin}"
    assert bucket_for("GET", "/api/v1/users/00u1/roles") == "/api/v1/iam"
    assert bucket_for("GET", "/api/v1/iam/assignees/users") == "/api/v1/iam"
    assert bucket_for("GET", "/api/v1/groups") == "/api/v1/groups"
    assert bucket_for("PUT", "/api/v1/groups/00g1/users/00u1") == "/api/v1/groups/{id}"
    assert bucket_for("GET", "/api/v1/apps/0oa1/users") == "/api/v1/apps"
    assert bucket_for("GET", "/api/v1/apps/0oa1") == "/api/v1/apps/{id}"
    assert bucket_for("GET", "/api/v1/apps") == "/api/v1/apps"
    assert bucket_for("GET", "/api/v1/logs") == "/api/v1/logs"
    assert bucket_for("POST", "/oauth2/v1/token") == "/oauth2/v1/token"
    assert bucket_for("GET", "/api/v1/something") == "/api/v1"


def test_governor_no_delay_with_plenty_remaining() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), clock=clock)
    for remaining in (599, 598, 597):
        slot = gov.before("users", sleep=clock.sleep)
        gov.after("users", slot)
        gov.record("users", 200, headers(clock, limit=600, remaining=remaining, reset_in=40))
    assert clock.sleeps == []


def test_governor_spreads_remaining_calls_until_reset() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), clock=clock)
    gov.record("groups", 200, headers(clock, limit=100, remaining=10, reset_in=20))
    reset_at = clock.now + 20
    for _ in range(10):
        gov.after("groups", gov.before("groups", sleep=clock.sleep))
    # Ten calls spread over the twenty seconds left, not ten at once then a long stop.
    assert len(clock.sleeps) == 9
    assert max(clock.sleeps) < 4.0
    assert reset_at - 4.0 <= clock.now <= reset_at


def test_governor_slows_down_smoothly_as_remaining_falls() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), clock=clock, low_fraction=0.5)
    reset_at = clock.now + 60
    delays: list[float] = []
    for remaining in range(60, 0, -5):
        gov.record(
            "users",
            200,
            headers(clock, limit=100, remaining=remaining, reset_in=int(reset_at - clock.now)),
        )
        before = len(clock.sleeps)
        gov.after("users", gov.before("users", sleep=clock.sleep))
        delays.append(sum(clock.sleeps[before:]))
    assert delays[0] == 0  # above the watermark
    paced = [d for d in delays if d > 0]
    assert paced == sorted(paced)  # growing as the budget shrinks
    assert max(paced) < 15  # never a stop-the-world wait


def test_governor_429_makes_other_workers_wait_until_reset() -> None:
    clock = Clock()
    cache = new_cache()
    worker_a = CacheGovernor(cache=cache, clock=clock)
    worker_b = CacheGovernor(cache=cache, clock=clock)
    # B has already looked at the shared state.
    worker_b.after("logs", worker_b.before("logs", sleep=clock.sleep))
    worker_a.record("logs", 429, headers(clock, limit=60, remaining=0, reset_in=30))
    clock.now += 1.5  # B's local copy is now older than the sync interval
    worker_b.after("logs", worker_b.before("logs", sleep=clock.sleep))
    assert len(clock.sleeps) == 1
    assert 28.5 <= clock.sleeps[0] <= 28.6


def test_governor_caps_concurrency() -> None:
    cache = new_cache()
    gov = CacheGovernor(cache=cache, concurrency_limit=2)
    holding = threading.Barrier(3)
    release = threading.Event()

    def hold() -> None:
        slot = gov.before("users", sleep=time.sleep)
        holding.wait()
        release.wait(5)
        gov.after("users", slot)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    holding.wait()
    assert gov.in_flight() == 2
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        release.set()  # one of the holders finishes while we wait
        time.sleep(0.05)

    slot = gov.before("users", sleep=sleep)
    assert waits, "a third request must wait for a free slot"
    assert slot is not None and gov.in_flight() <= 2
    gov.after("users", slot)
    for t in threads:
        t.join()
    assert gov.in_flight() == 0


def test_governor_slot_of_dead_worker_expires() -> None:
    cache = new_cache()
    dead = CacheGovernor(cache=cache, concurrency_limit=1, slot_ttl=1)
    thread = threading.Thread(target=lambda: dead.before("users", sleep=time.sleep))
    thread.start()
    thread.join()  # took the only slot and never gave it back
    alive = CacheGovernor(cache=cache, concurrency_limit=1, slot_ttl=1)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    alive.after("users", alive.before("users", sleep=sleep))
    assert waited and time.monotonic() - started < 3


def test_governor_costs_few_cache_round_trips() -> None:
    clock = Clock()
    cache = CountingCache(new_cache())
    gov = CacheGovernor(cache=cache, clock=clock)
    held = gov.hold(sleep=clock.sleep)  # one paginated walk of 1,000 pages
    for i in range(1000):
        assert gov.before("group_members", sleep=clock.sleep, held=held) is None
        gov.after("group_members", None)
        gov.record(
            "group_members", 200, headers(clock, limit=10000, remaining=9999 - i, reset_in=60)
        )
        clock.now += 0.01  # 100 requests a second
    gov.release(held)
    assert len(cache.calls) <= 30, cache.calls  # ~2 a second plus the slot, not 2-3 per request
    assert gov.in_flight() == 0


def test_governor_walk_slot_released_from_another_thread() -> None:
    gov = CacheGovernor(cache=new_cache(), concurrency_limit=3)
    held = gov.hold(sleep=time.sleep)
    assert gov.in_flight() == 1
    thread = threading.Thread(target=gov.release, args=(held,))
    thread.start()
    thread.join()
    assert gov.in_flight() == 0


def test_governor_does_not_release_a_slot_it_lost() -> None:
    cache = new_cache()
    gov = CacheGovernor(cache=cache, concurrency_limit=1)
    held = gov.hold(sleep=time.sleep)
    assert held is not None
    cache.set(held, "another-worker")  # the TTL passed and someone else took the slot
    gov.release(held)
    assert cache.get(held) == "another-worker"


def test_governor_fails_open_when_cache_is_down() -> None:
    class DownCache:
        def __getattr__(self, name: str) -> Any:
            def broken(*args: Any, **kwargs: Any) -> Any:
                raise ConnectionError("redis is down")

            return broken

    clock = Clock()
    gov = CacheGovernor(cache=DownCache(), clock=clock)
    slot = gov.before("users", sleep=clock.sleep)
    gov.record("users", 200, headers(clock, limit=100, remaining=99, reset_in=60))
    gov.after("users", slot)
    assert slot is None and clock.sleeps == []


def test_null_governor_does_nothing() -> None:
    gov = NullGovernor()
    slot = gov.before("users", sleep=lambda s: pytest.fail("must not sleep"))
    gov.record("users", 429, {"x-rate-limit-reset": "0"})
    gov.after("users", slot)
    assert slot is None and gov.hold(sleep=time.sleep) is None


def test_client_paces_through_the_governor() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), clock=clock)
    reset = str(int(clock.now) + 10)
    date = email.utils.formatdate(int(clock.now), usegmt=True)
    with respx.mock(base_url=ORG) as mock:
        route = mock.get("/api/v1/users/00u1")
        route.side_effect = [
            httpx.Response(
                200,
                json={"id": "00u1"},
                headers={
                    "X-Rate-Limit-Limit": "100",
                    "X-Rate-Limit-Remaining": str(remaining),
                    "X-Rate-Limit-Reset": reset,
                    "Date": date,
                },
            )
            for remaining in (5, 4, 3)
        ]
        client = OktaClient(ORG, token="t", governor=gov, sleep=clock.sleep)
        for _ in range(3):
            client.get_user("00u1")
    assert len(clock.sleeps) == 2  # the first call went at once; the next two were spread
    assert all(1.0 <= s <= 3.5 for s in clock.sleeps)
    assert gov.in_flight() == 0


def test_client_walk_holds_one_slot_until_done() -> None:
    gov = CacheGovernor(cache=new_cache(), concurrency_limit=5)
    with respx.mock(base_url=ORG) as mock:
        mock.get("/api/v1/groups", params={"after": "2"}).respond(200, json=[{"id": "00g2"}])
        mock.get("/api/v1/groups").respond(
            200,
            json=[{"id": "00g1"}],
            headers={"Link": f'<{ORG}/api/v1/groups?after=2>; rel="next"'},
        )
        client = OktaClient(ORG, token="t", governor=gov)
        pages = client.group_pages()
        next(pages)
        assert gov.in_flight() == 1  # suspended between pages: the walk keeps its slot
        assert len(list(pages)) == 1
        assert gov.in_flight() == 0
        abandoned = client.group_pages()
        next(abandoned)
        abandoned.close()
        assert gov.in_flight() == 0


def test_governor_threads_queue_for_send_times() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), clock=clock)
    gov.record("users", 200, headers(clock, limit=100, remaining=10, reset_in=20))
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:  # the clock stands still: all threads ask at once
        with lock:
            waits.append(seconds)

    threads = [
        threading.Thread(target=lambda: gov.after("users", gov.before("users", sleep=sleep)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    waits.sort()
    assert len(waits) == 3  # the first went at once, the others were given later turns
    assert waits[0] >= 2.0 and all(b - a >= 2.0 for a, b in itertools.pairwise(waits))


@pytest.mark.django_db
def test_governor_on_the_configured_cache() -> None:
    """The same slot and state bookkeeping on the real backend (database cache, or Redis)."""
    from django.core.cache import caches

    cache = caches["default"]
    prefix = f"test-gov-{uuid.uuid4().hex[:8]}"
    gov = CacheGovernor(cache=cache, concurrency_limit=2, prefix=prefix)
    other = CacheGovernor(cache=cache, concurrency_limit=2, prefix=prefix)
    first, second = gov.hold(sleep=time.sleep), gov.hold(sleep=time.sleep)
    assert first and second and first != second
    assert other.in_flight() == 2
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        gov.release(first)

    third = other.before("users", sleep=sleep)
    assert waited and third == first  # it got the slot that was given back
    other.after("users", third)
    gov.release(second)
    assert other.in_flight() == 0

    clock = Clock(time.time())
    gov.clock = other.clock = clock
    gov.record("users", 429, headers(clock, limit=10, remaining=0, reset_in=20))
    clock.now += 1.5  # past the other worker's sync interval
    other.after("users", other.before("users", sleep=clock.sleep))
    assert clock.sleeps and 17.4 <= clock.sleeps[0] <= 18.6


def test_seconds_until_reset_trusts_the_smaller_estimate() -> None:
    now = 1_750_000_030.0
    date = email.utils.formatdate(now, usegmt=True)
    assert seconds_until_reset(now + 30, date, now) == 30
    stale = email.utils.formatdate(now - 25, usegmt=True)  # a busy server's cached Date
    assert seconds_until_reset(now + 30, stale, now) == 30
    # Our clock runs 20 s ahead: Okta's Date says how far the reset really is.
    assert seconds_until_reset(now + 10, email.utils.formatdate(now - 20, usegmt=True), now) == 10
    later = email.utils.formatdate(now + 20, usegmt=True)
    assert seconds_until_reset(now + 10, later, now + 20) == 0  # both say it has passed
    assert seconds_until_reset(now + 3600, date, now) == 61  # windows are per minute
    assert seconds_until_reset(now + 5, "not a date", now) == 5


def test_governor_cap_is_soft_after_waiting_long() -> None:
    clock = Clock()
    gov = CacheGovernor(cache=new_cache(), concurrency_limit=1, slot_wait_max=5, clock=clock)
    walk = gov.hold(sleep=clock.sleep)  # e.g. a walk whose consumer makes a call of its own
    assert walk is not None
    slot = gov.before("users", sleep=clock.sleep)
    assert slot is None  # went without a slot rather than wait for itself forever
    assert 5 <= sum(clock.sleeps) <= 7
    gov.release(walk)


def test_governor_bypasses_a_hung_cache_after_one_timeout() -> None:
    """A Redis that accepts connections and never answers costs one socket timeout, then the
    governor paces locally for a while instead of waiting on every request."""
    from django.core.cache.backends.redis import RedisCache

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        cache = RedisCache(
            f"redis://127.0.0.1:{port}/0",
            {"OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3}},
        )
        gov = CacheGovernor(cache=cache, cache_retry_seconds=30)
        started = time.monotonic()
        slots = []
        for _ in range(20):
            slot = gov.before("users", sleep=time.sleep)
            gov.record("users", 200, {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99"})
            gov.after("users", slot)
            slots.append(slot)
        walk = gov.hold(sleep=time.sleep)
        gov.release(walk)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert slots == [None] * 20 and walk is None  # went without the org-wide cap
    assert elapsed < 2.0, elapsed  # one timeout, not one per call


def test_client_slot_is_shared_by_many_walks() -> None:
    """A fetch thread holds one slot for all its member lists: a few cache round trips for the
    lot, not three per list."""
    cache = CountingCache(new_cache())
    gov = CacheGovernor(cache=cache, concurrency_limit=4)
    with respx.mock(base_url=ORG) as mock:
        mock.get(url__regex=r"/api/v1/groups/00g\d+/users").respond(200, json=[{"id": "00u1"}])
        client = OktaClient(ORG, token="t", governor=gov)
        with client.slot() as slot:
            assert slot.key is not None and gov.in_flight() == 1
            for n in range(50):
                pages = list(client.iter_pages(f"/api/v1/groups/00g{n}/users", slot=slot))
                assert [p.items for p in pages] == [[{"id": "00u1"}]]
            assert gov.in_flight() == 1  # the walks took no slot of their own
        assert gov.in_flight() == 0
    round_trips = [c for c in cache.calls if c != "get_many"]  # in_flight() itself
    assert len(round_trips) <= 8, round_trips
