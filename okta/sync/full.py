"""Full sync: stream every page from Okta and write it in bulk, then sweep what Okta no longer has.

Member lists are fetched by a small thread pool that feeds the writer through a bounded queue,
so fetching and writing overlap and memory stays flat. Every written row gets a fresh
``synced_at``; rows older than the run's start are what Okta no longer has, and are swept at the
end (except for groups and apps whose members could not be read: their rows are kept and the
run reports them).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from okta.models import AdminRole, OktaApp, OktaGroup, SyncCursor, SyncKind, SyncRun, SyncStatus
from okta.signals import statuses_changed_send
from okta.sync.bulk import (
    ASSIGNMENTS,
    MEMBERSHIPS,
    USERS,
    WRITE_BATCH,
    LinkTable,
    analyze,
    copy_append,
    copy_upsert,
    indexes_build,
    indexes_build_all,
    indexes_drop,
    seen_reset,
    seen_sweep,
    upsert_apps,
    upsert_groups,
    upsert_links,
    upsert_users,
)
from okta.sync.events import CLOCK_SKEW, LOG_CURSOR
from okta.sync.rows import (
    app_from_okta,
    assignment_row,
    group_from_okta,
    membership_row,
    okta_time,
    user_from_okta,
    user_row,
)
from okta.sync.runs import Progress, run_finish
from okta.sync.scope import Scope

if TYPE_CHECKING:
    from okta.client import OktaClient, Slot

log = logging.getLogger(__name__)

MEMBER_FETCH_THREADS = 8
# Pages waiting for the writer. Most member pages are a small group's whole list; the queue
# must absorb what the fetch threads read while one WRITE_BATCH is written, or fetching (the
# bound: Okta's answer time) stalls on every write. Worst case ~256k small tuples (~50 MB).
QUEUE_PAGES = 256
# List pages (users: 200 a page) read ahead of the writer, for the same reason.
PREFETCH_PAGES = 32
GROUP_ATTEMPTS = 2


def _prefetched[T](items: Iterable[T], depth: int = PREFETCH_PAGES) -> Iterator[T]:
    """Iterate ``items`` on a background thread, ``depth`` ahead of the consumer, so fetching
    the next pages overlaps writing this one. Exceptions reach the consumer."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:
            buffer.put(_Failure(exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass(frozen=True)
class _Failure:
    exc: BaseException


def _batched[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_DONE = object()


@dataclass
class _LinkOutcome:
    failed: list[str] = field(default_factory=list)


def _estimate_total() -> int:
    last = (
        SyncRun.objects.filter(kind=SyncKind.FULL, status=SyncStatus.SUCCEEDED)
        .order_by("-started_at")
        .first()
    )
    if last is not None and last.done:
        return last.done
    return 0


def _user_pages(
    client: OktaClient, scope: Scope, since: datetime | None
) -> Iterator[list[dict[str, Any]]]:
    if since is not None:
        for page in client.user_pages(filter=f'lastUpdated gt "{okta_time(since)}"'):
            yield page.items
        return
    for page in client.user_pages():
        yield page.items
    if scope.wants_deprovisioned:
        # Okta leaves deactivated users out of an unfiltered listing.
        for page in client.user_pages(filter='status eq "DEPROVISIONED"'):
            yield page.items


def sync_users(
    client: OktaClient,
    scope: Scope,
    progress: Progress,
    since: datetime | None = None,
    kept: list[str] | None = None,
    *,
    seen: bool = False,
    fresh: bool = False,
) -> list[str]:
    """Upsert users (their ids go to ``kept`` if given); returns ids that Okta listed but the
    scope leaves out."""
    dropped: list[str] = []
    # PostgreSQL: raw tuples through COPY; elsewhere model instances through bulk_create.
    use_copy = connection.vendor == "postgresql"
    pending: list[Any] = []

    def flush() -> None:
        if use_copy:
            stamp = timezone.now()
            if pending and not (fresh and copy_append(USERS, pending, stamp)):
                copy_upsert(USERS, pending, stamp, seen=seen)
        else:
            upsert_users(pending)
        progress.add("users", len(pending))

    for page in _prefetched(_user_pages(client, scope, since)):
        for data in page:
            if not scope.wants_status(str(data.get("status") or "")):
                dropped.append(data["id"])
                continue
            pending.append(user_row(data) if use_copy else user_from_okta(data))
            if kept is not None:
                kept.append(data["id"])
        if len(pending) >= WRITE_BATCH:
            flush()
            pending = []
    flush()
    return dropped


def sync_groups(
    client: OktaClient, scope: Scope, progress: Progress, filter: str = ""
) -> tuple[list[OktaGroup], list[str]]:
    kept: list[OktaGroup] = []
    dropped: list[str] = []
    for page in _prefetched(client.group_pages(filter=filter)):
        batch = []
        for data in page.items:
            group = group_from_okta(data)
            if scope.wants_group(group):
                batch.append(group)
            else:
                dropped.append(group.id)
        for chunk in _batched(batch, WRITE_BATCH):
            upsert_groups(chunk)
        progress.add("groups", len(batch))
        kept.extend(batch)
    return kept, dropped


def _sync_apps(client: OktaClient, progress: Progress) -> list[str]:
    ids: list[str] = []
    for page in _prefetched(client.app_pages()):
        apps = [app_from_okta(d) for d in page.items]
        upsert_apps(apps)
        progress.add("apps", len(apps))
        ids.extend(a.id for a in apps)
    return ids


def fetch_links(
    client: OktaClient,
    owner_ids: Sequence[str],
    path: str,
    limit: int,
    to_row: Callable[[str, dict[str, Any]], tuple[Any, ...]],
    spec: LinkTable,
    kind: str,
    progress: Progress,
    *,
    seen: bool = False,
    fresh: bool = False,
) -> _LinkOutcome:
    """Fetch each owner's member pages on a thread pool and write them as they arrive.

    Workers put (owner, rows) on a bounded queue; this thread (which holds the database
    connection) drains it in batches. A worker retries an owner once from the start; if it still
    fails the owner is reported, and its existing rows are kept rather than swept.
    """
    outcome = _LinkOutcome()
    pages: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PAGES)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Stopped

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for owner_id in owner_ids:
        todo.put(owner_id)

    def fetch(owner_id: str, slot: Slot) -> None:
        for attempt in range(1, GROUP_ATTEMPTS + 1):
            try:
                pages = client.iter_pages(path.format(id=owner_id), {"limit": limit}, slot=slot)
                for page in pages:
                    put([to_row(owner_id, d) for d in page.items])
                return
            except _Stopped:
                return
            except Exception as exc:
                if attempt == GROUP_ATTEMPTS:
                    with suppress(_Stopped):
                        put(_OwnerFailed(owner_id, f"{kind} of {owner_id}: {exc}"))
                else:
                    time.sleep(0.2)

    def work() -> None:
        # One concurrency slot per thread for all its owners: most member lists are one page,
        # and a slot per list would cost more cache round trips than the lists cost requests.
        with client.slot() as slot:
            while not stop.is_set():
                try:
                    owner_id = todo.get_nowait()
                except queue.Empty:
                    return
                fetch(owner_id, slot)

    def feed(pool: ThreadPoolExecutor) -> None:
        futures = [pool.submit(work) for _ in range(MEMBER_FETCH_THREADS)]
        for future in futures:
            with suppress(Exception):
                future.result()
        with suppress(_Stopped):
            put(_DONE)

    pool = ThreadPoolExecutor(max_workers=MEMBER_FETCH_THREADS, thread_name_prefix="okta-sync")
    feeder = threading.Thread(target=feed, args=(pool,), daemon=True)
    feeder.start()
    try:
        buffer: list[tuple[Any, ...]] = []
        while True:
            item = pages.get()
            if item is _DONE:
                break
            if isinstance(item, _OwnerFailed):
                outcome.failed.append(item.owner_id)
                progress.error(item.message)
                continue
            buffer.extend(item)
            if len(buffer) >= WRITE_BATCH:
                upsert_links(spec, buffer, timezone.now(), seen=seen, fresh=fresh)
                progress.add(kind, len(buffer))
                buffer = []
        upsert_links(spec, buffer, timezone.now(), seen=seen, fresh=fresh)
        progress.add(kind, len(buffer))
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        feeder.join(timeout=5)
    return outcome


class _Stopped(Exception):
    """The writer gave up; fetch threads stop quietly."""


@dataclass(frozen=True)
class _OwnerFailed:
    owner_id: str
    message: str


def _sync_admin_roles(client: OktaClient, progress: Progress) -> None:
    rows: list[AdminRole] = []
    for user_id in client.iter_role_assignees():
        for role in client.list_user_roles(user_id):
            rows.append(
                AdminRole(
                    user_id=user_id,
                    role_id=role.id[:64],
                    type=role.type[:64],
                    label=role.label[:255],
                    assignment_type=role.assignment_type[:20],
                )
            )
    if rows:
        AdminRole.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user", "type"],
            update_fields=["role_id", "label", "assignment_type", "synced_at"],
        )
    progress.add("admin_roles", len(rows))


def sync_full(
    *,
    run: SyncRun,
    client: OktaClient,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Mirror the whole directory into the database; finishes ``run``."""
    progress = Progress(run, on_progress)
    run.total_estimate = _estimate_total()
    scope = Scope.load()
    started = run.started_at
    # PostgreSQL: a table that is empty now is loaded with plain COPY (nothing to merge, nothing
    # to sweep); the others record the keys this run sees, for the sweep.
    fresh: set[str] = set()
    tracked: set[str] = set()
    try:
        if connection.vendor == "postgresql":
            for spec in (USERS, MEMBERSHIPS, ASSIGNMENTS):
                indexes_build(spec)  # any a killed run left dropped
                if spec.model._default_manager.exists():
                    tracked.add(spec.table)
                    seen_reset(spec)
                else:
                    fresh.add(spec.table)
                    indexes_drop(spec)
        progress.phase("users")
        sync_users(
            client,
            scope,
            progress,
            seen=USERS.table in tracked,
            fresh=USERS.table in fresh,
        )
        progress.phase("groups")
        groups, _ = sync_groups(client, scope, progress)
        progress.phase("apps")
        app_ids = _sync_apps(client, progress)
        progress.phase("memberships")
        members = fetch_links(
            client,
            [g.id for g in groups],
            "/api/v1/groups/{id}/users",
            1000,
            membership_row,
            MEMBERSHIPS,
            "memberships",
            progress,
            seen=MEMBERSHIPS.table in tracked,
            fresh=MEMBERSHIPS.table in fresh,
        )
        progress.phase("assignments")
        assigned = fetch_links(
            client,
            app_ids,
            "/api/v1/apps/{id}/users",
            500,
            assignment_row,
            ASSIGNMENTS,
            "assignments",
            progress,
            seen=ASSIGNMENTS.table in tracked,
            fresh=ASSIGNMENTS.table in fresh,
        )
        if fresh:
            progress.phase("building indexes")
            indexes_build_all(fresh)
        progress.phase("admin roles")
        try:
            _sync_admin_roles(client, progress)
            roles_ok = True
        except Exception as exc:
            progress.error(f"admin roles: {exc}")
            roles_ok = False
        progress.phase("removing deleted")
        removed = _sweep(started, members.failed, assigned.failed, roles_ok, tracked, fresh)
        run.counts["removed"] = removed
        if fresh:
            # The planner knows nothing of a table filled just now; autovacuum would tell it
            # in a while, the directory pages need it at once.
            analyze(fresh)
        # A plain user listing leaves deactivated people out (unless the scope asks for them),
        # so the sweep above removed them rather than marking them DEPROVISIONED.
        run.counts["sessions_ended"] = statuses_changed_send(
            source="full sync", mirror_complete=True
        )
    except Exception as exc:
        log.exception("full sync %s failed", run.pk)
        progress.error(str(exc))
        indexes_build_all(fresh)
        run_finish(run, status=SyncStatus.FAILED, message=f"Sync failed: {exc}")
        return run
    run.phase = "done"
    SyncCursor.objects.update_or_create(
        name=LOG_CURSOR, defaults={"value": okta_time(started - CLOCK_SKEW)}
    )
    status = SyncStatus.PARTIAL if run.errors else SyncStatus.SUCCEEDED
    message = (
        f"{len(run.errors)} object(s) could not be read; their previous rows were kept."
        if run.errors
        else ""
    )
    run_finish(run, status=status, message=message)
    return run


def _sweep(
    started: datetime,
    failed_groups: list[str],
    failed_apps: list[str],
    roles_ok: bool,
    tracked: set[str],
    fresh: set[str],
) -> dict[str, int]:
    """Delete what the run did not see. A ``tracked`` table has the run's seen keys; a
    ``fresh`` one was empty when the run began, so all its rows are the run's own (or newer)."""

    def sweep(spec: LinkTable, keep_owners: list[str]) -> int:
        if spec.table in fresh:
            return 0
        if spec.table in tracked:
            return seen_sweep(spec, started, keep_owners)
        stale = spec.model._default_manager.filter(synced_at__lt=started)
        if keep_owners:
            stale = stale.exclude(**{f"{spec.conflict[0]}__in": keep_owners})
        return int(stale.delete()[0])

    removed: dict[str, int] = {}
    with transaction.atomic():
        removed["users"] = sweep(USERS, [])
        removed["groups"] = OktaGroup.objects.filter(synced_at__lt=started).delete()[0]
        removed["apps"] = OktaApp.objects.filter(synced_at__lt=started).delete()[0]
        removed["memberships"] = sweep(MEMBERSHIPS, failed_groups)
        removed["assignments"] = sweep(ASSIGNMENTS, failed_apps)
        if roles_ok:
            removed["admin_roles"] = AdminRole.objects.filter(synced_at__lt=started).delete()[0]
    return removed
