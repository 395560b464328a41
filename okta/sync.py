"""Full and incremental sync of the directory mirror, and applying Okta events to it.

Full sync streams every page from Okta and writes in bulk: users, groups and apps through
``bulk_create(update_conflicts=True)``, memberships and assignments as raw tuples through one
``INSERT ... ON CONFLICT`` per batch (on PostgreSQL through COPY into a temporary table, or
straight into the table when a full sync finds it empty: a first load has nothing to merge). Member
lists are fetched by a small thread pool that feeds the writer through a bounded queue, so
fetching and writing overlap and memory stays flat. Every written row gets a fresh ``synced_at``;
rows older than the run's start are what Okta no longer has, and are swept at the end (except
for groups and apps whose members could not be read: their rows are kept and the run reports
them).

Only one sync runs at a time: a ``SyncRun`` row in status RUNNING is unique (a partial unique
index), so starting a second one fails in the database, whatever process or machine tries.
"""

from __future__ import annotations

import fnmatch
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils import timezone

from audit.services import audit_record
from okta.client import OktaError
from okta.models import (
    AdminRole,
    AppAssignment,
    GroupMembership,
    GroupType,
    HookEvent,
    OktaApp,
    OktaGroup,
    OktaUser,
    SyncCursor,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncStatus,
)
from okta.signals import statuses_changed_send

if TYPE_CHECKING:
    from okta.client import OktaClient, Slot, User

log = logging.getLogger(__name__)

WRITE_BATCH = 5000
COPY_MIN_ROWS = 200  # below this, one INSERT ... ON CONFLICT is cheaper than a COPY round
MEMBER_FETCH_THREADS = 8
# Pages waiting for the writer. Most member pages are a small group's whole list; the queue
# must absorb what the fetch threads read while one WRITE_BATCH is written, or fetching (the
# bound: Okta's answer time) stalls on every write. Worst case ~256k small tuples (~50 MB).
QUEUE_PAGES = 256
# List pages (users: 200 a page) read ahead of the writer, for the same reason.
PREFETCH_PAGES = 32
GROUP_ATTEMPTS = 2
HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(minutes=10)
LOG_CURSOR = "system_log_since"
# Okta's clocks and ours differ a little; incremental filters look back this much further.
CLOCK_SKEW = timedelta(seconds=60)
HOOK_EVENT_RETENTION = timedelta(days=7)

LOG_EVENT_TYPES = (
    "group.user_membership.add",
    "group.user_membership.remove",
    "application.user_membership.add",
    "application.user_membership.remove",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "application.lifecycle.delete",
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.reactivate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
    "user.account.update_profile",
    "user.account.lock",
    "user.account.unlock_by_admin",
)


class SyncAlreadyRunningError(Exception):
    def __init__(self, run: SyncRun | None) -> None:
        self.run = run
        super().__init__("A sync is already running." if run is None else f"{run} is running.")


# --- starting, tracking and finishing runs ------------------------------------------------


def _actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return str(getattr(actor, "username", "") or actor)


def _reap_stale_runs() -> None:
    """A run whose process died keeps status RUNNING; after STALE_AFTER without a heartbeat it
    is marked failed so the next sync can start."""
    cutoff = timezone.now() - STALE_AFTER
    SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__lt=cutoff).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        message="Abandoned: the process running it stopped sending heartbeats.",
    )


def sync_run_start(*, actor: Any, kind: str) -> SyncRun:
    """Record a RUNNING sync, or raise SyncAlreadyRunningError if one is running."""
    _reap_stale_runs()
    now = timezone.now()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                kind=kind,
                status=SyncStatus.RUNNING,
                triggered_by=_actor_label(actor),
                started_at=now,
                heartbeat_at=now,
                phase="starting",
            )
            audit_record(
                action="okta.sync.started",
                actor=actor,
                target_type="sync_run",
                target_id=str(run.pk),
                target_label=f"{kind} sync",
                detail={"kind": kind},
            )
    except IntegrityError:
        raise SyncAlreadyRunningError(
            SyncRun.objects.filter(status=SyncStatus.RUNNING).first()
        ) from None
    return run


def _run_finish(run: SyncRun, *, status: str, message: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.message = message
    with transaction.atomic():
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "message",
                "counts",
                "errors",
                "done",
                "total_estimate",
                "phase",
            ]
        )
        audit_record(
            action="okta.sync.finished",
            actor="system",
            target_type="sync_run",
            target_id=str(run.pk),
            target_label=f"{run.kind} sync",
            outcome="success" if status == SyncStatus.SUCCEEDED else "failure",
            detail={
                "kind": run.kind,
                "status": status,
                "counts": run.counts,
                "errors": run.errors[:20],
                "seconds": round((run.finished_at - run.started_at).total_seconds(), 1),
            },
        )


class _Progress:
    """Counts per object type, flushed to the SyncRun row every few seconds."""

    def __init__(self, run: SyncRun, on_progress: Callable[[SyncRun], None] | None) -> None:
        self.run = run
        self.on_progress = on_progress
        self._flushed = 0.0

    def phase(self, name: str) -> None:
        self.run.phase = name
        self.flush(force=True)

    def add(self, kind: str, n: int) -> None:
        self.run.counts[kind] = self.run.counts.get(kind, 0) + n
        self.run.done += n
        self.run.total_estimate = max(self.run.total_estimate, self.run.done)
        self.flush()

    def error(self, message: str) -> None:
        log.warning("sync %s: %s", self.run.pk, message)
        self.run.errors.append(message)

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._flushed < HEARTBEAT_SECONDS:
            return
        self._flushed = now
        SyncRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(),
            phase=self.run.phase,
            done=self.run.done,
            total_estimate=self.run.total_estimate,
            counts=self.run.counts,
            errors=self.run.errors,
        )
        if self.on_progress is not None:
            self.on_progress(self.run)


# --- converting Okta JSON to rows ---------------------------------------------------------


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _s(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def user_from_okta(data: dict[str, Any]) -> OktaUser:
    profile = data.get("profile") or {}
    first = _s(profile.get("firstName"), 100)
    last = _s(profile.get("lastName"), 100)
    return OktaUser(
        id=data["id"],
        status=_s(data.get("status"), 20),
        login=_s(profile.get("login"), 255) or data["id"],
        email=_s(profile.get("email"), 255),
        first_name=first,
        last_name=last,
        display_name=_s(profile.get("displayName"), 255),
        department=_s(profile.get("department"), 100),
        title=_s(profile.get("title"), 150),
        manager_id=_s(profile.get("managerId"), 32),
        employee_number=_s(profile.get("employeeNumber"), 50),
        profile=profile,
        created=_dt(data.get("created")),
        activated=_dt(data.get("activated")),
        status_changed=_dt(data.get("statusChanged")),
        last_login=_dt(data.get("lastLogin")),
        last_updated=_dt(data.get("lastUpdated")),
        password_changed=_dt(data.get("passwordChanged")),
    )


def user_from_typed(user: User) -> OktaUser:
    return OktaUser(
        id=user.id,
        status=user.status[:20],
        login=user.login[:255] or user.id,
        email=user.email[:255],
        first_name=user.first_name[:100],
        last_name=user.last_name[:100],
        display_name=user.display_name[:255],
        department=user.department[:100],
        title=user.title[:150],
        manager_id=user.manager_id[:32],
        employee_number=user.employee_number[:50],
        profile=user.profile,
        created=user.created,
        activated=user.activated,
        status_changed=user.status_changed,
        last_login=user.last_login,
        last_updated=user.last_updated,
        password_changed=user.password_changed,
    )


def group_from_okta(data: dict[str, Any]) -> OktaGroup:
    profile = data.get("profile") or {}
    return OktaGroup(
        id=data["id"],
        type=_s(data.get("type"), 20),
        name=_s(profile.get("name"), 255),
        description=_s(profile.get("description"), 10_000),
        created=_dt(data.get("created")),
        last_updated=_dt(data.get("lastUpdated")),
        last_membership_updated=_dt(data.get("lastMembershipUpdated")),
    )


def app_from_okta(data: dict[str, Any]) -> OktaApp:
    return OktaApp(
        id=data["id"],
        name=_s(data.get("name"), 255),
        label=_s(data.get("label"), 255),
        status=_s(data.get("status"), 20),
        sign_on_mode=_s(data.get("signOnMode"), 50),
        created=_dt(data.get("created")),
        last_updated=_dt(data.get("lastUpdated")),
    )


_USER_FIELDS = [
    f.name
    for f in OktaUser._meta.concrete_fields
    if f.name not in ("id", "synced_at") and not f.generated
] + ["synced_at"]
_GROUP_FIELDS = [
    f.name
    for f in OktaGroup._meta.concrete_fields
    if f.name not in ("id", "synced_at") and not f.generated
] + ["synced_at"]
_APP_FIELDS = [
    f.name
    for f in OktaApp._meta.concrete_fields
    if f.name not in ("id", "synced_at") and not f.generated
] + ["synced_at"]


def _upsert_users(users: Sequence[OktaUser]) -> None:
    if users:
        # Logins are unique, and Okta can hand a login to another user (a deleted user's login
        # reused, or two renames): drop the stale holder first; if it still exists in Okta it
        # comes back under its new login later in this run.
        OktaUser.objects.filter(login__in=[u.login for u in users]).exclude(
            id__in=[u.id for u in users]
        ).delete()
        OktaUser.objects.bulk_create(
            users, update_conflicts=True, unique_fields=["id"], update_fields=_USER_FIELDS
        )


def _upsert_groups(groups: Sequence[OktaGroup]) -> None:
    if groups:
        OktaGroup.objects.bulk_create(
            groups, update_conflicts=True, unique_fields=["id"], update_fields=_GROUP_FIELDS
        )


def _upsert_apps(apps: Sequence[OktaApp]) -> None:
    if apps:
        OktaApp.objects.bulk_create(
            apps, update_conflicts=True, unique_fields=["id"], update_fields=_APP_FIELDS
        )


# --- raw bulk writes for the big link tables ------------------------------------------------


@dataclass(frozen=True)
class _LinkTable:
    model: type[models.Model]
    columns: tuple[str, ...]  # the last one is synced_at
    conflict: tuple[str, ...]
    # Other unique columns whose stale holders are deleted before the upsert (see users).
    also_unique: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def update(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.conflict)

    def db_type(self, column: str) -> str:
        for f in self.model._meta.concrete_fields:
            if f.column == column:
                return str(f.db_type(connection))
        raise LookupError(column)


MEMBERSHIPS = _LinkTable(
    GroupMembership, ("group_id", "user_id", "synced_at"), ("group_id", "user_id")
)
ASSIGNMENTS = _LinkTable(
    AppAssignment,
    ("app_id", "user_id", "scope", "status", "synced_at"),
    ("app_id", "user_id"),
)
USERS = _LinkTable(
    OktaUser,
    (
        "id",
        "status",
        "login",
        "email",
        "first_name",
        "last_name",
        "display_name",
        "department",
        "title",
        "manager_id",
        "employee_number",
        "profile",
        "created",
        "activated",
        "status_changed",
        "last_login",
        "last_updated",
        "password_changed",
        "synced_at",
    ),
    ("id",),
    also_unique=("login",),
)


def _user_row(data: dict[str, Any]) -> tuple[Any, ...]:
    """A USERS row from Okta's JSON, for COPY: no model instance, timestamps as Okta's text."""
    profile = data.get("profile") or {}
    return (
        data["id"],
        _s(data.get("status"), 20),
        _s(profile.get("login"), 255) or data["id"],
        _s(profile.get("email"), 255),
        _s(profile.get("firstName"), 100),
        _s(profile.get("lastName"), 100),
        _s(profile.get("displayName"), 255),
        _s(profile.get("department"), 100),
        _s(profile.get("title"), 150),
        _s(profile.get("managerId"), 32),
        _s(profile.get("employeeNumber"), 50),
        orjson.dumps(profile).decode(),
        data.get("created") or None,
        data.get("activated") or None,
        data.get("statusChanged") or None,
        data.get("lastLogin") or None,
        data.get("lastUpdated") or None,
        data.get("passwordChanged") or None,
    )


def _upsert_links(
    spec: _LinkTable,
    rows: Sequence[tuple[Any, ...]],
    stamp: datetime,
    *,
    seen: bool = False,
    fresh: bool = False,
) -> None:
    """Insert or refresh ``rows`` (tuples without synced_at) in one statement per batch.

    ``fresh``: the table was empty when the full sync began (PostgreSQL only, see _copy_append).
    Table and column names come from model metadata, never from input; values are parameters.
    """
    if not rows:
        return
    if fresh and connection.vendor == "postgresql" and _copy_append(spec, rows, stamp):
        return
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in spec.columns)
    conflict = ", ".join(q(c) for c in spec.conflict)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in spec.update)
    if connection.vendor == "postgresql" and (seen or len(rows) >= COPY_MIN_ROWS):
        _copy_upsert(spec, rows, stamp, seen=seen)
        return
    value = connection.ops.adapt_datetimefield_value(stamp)
    placeholders = ", ".join(["%s"] * len(spec.columns))
    sql = (
        f"INSERT INTO {q(spec.table)} ({cols}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row, value) for row in rows])


def _seen_name(spec: _LinkTable) -> str:
    return connection.ops.quote_name(f"seen_{spec.table}")


def _seen_reset(spec: _LinkTable) -> None:
    """PostgreSQL full sync: a temporary table of the keys this run has seen, so rows that did
    not change are left alone (no update per row) and the sweep is an anti-join."""
    q = connection.ops.quote_name
    columns = ", ".join(f"{q(c)} {spec.db_type(c)}" for c in spec.conflict)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_seen_name(spec)} ({columns})")
        cursor.execute(f"TRUNCATE {_seen_name(spec)}")


def _seen_sweep(spec: _LinkTable, started: datetime, keep_owners: Sequence[str]) -> int:
    """Delete rows that existed before the run, were not seen by it, and whose owner (first key
    column) was read completely. Rows written meanwhile (event hooks) are newer than
    ``started`` and stay."""
    q = connection.ops.quote_name
    table, seen = q(spec.table), _seen_name(spec)
    matches = " AND ".join(f"s.{q(c)} = t.{q(c)}" for c in spec.conflict)
    owner = q(spec.conflict[0])
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} AS t WHERE t.synced_at < %s "  # noqa: S608
            f"AND NOT (t.{owner} = ANY(%s)) "
            f"AND NOT EXISTS (SELECT 1 FROM {seen} AS s WHERE {matches})",
            [started, list(keep_owners)],
        )
        removed = cursor.rowcount
        cursor.execute(f"TRUNCATE {seen}")
    return int(removed)


def _copy_append(spec: _LinkTable, rows: Sequence[tuple[Any, ...]], stamp: datetime) -> bool:
    """COPY ``rows`` straight into the table: for a first load, which has nothing to merge, so
    the staging table, the seen keys and the upsert are work for nothing. Returns False, having
    written nothing, when a row is already there (a duplicate in Okta's pages, or an event hook
    got there first); the caller then upserts the batch."""
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in spec.columns)
    own_transaction = not connection.in_atomic_block
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            with cursor.cursor.copy(f"COPY {q(spec.table)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, stamp))
    except (IntegrityError, psycopg.IntegrityError):
        return False
    return True


def _copy_upsert(
    spec: _LinkTable, rows: Sequence[tuple[Any, ...]], stamp: datetime, *, seen: bool = False
) -> None:
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in spec.columns)
    data_cols = ", ".join(q(c) for c in spec.columns[:-1])
    temp_cols = ", ".join(f"{q(c)} {spec.db_type(c)}" for c in spec.columns[:-1])
    conflict = ", ".join(q(c) for c in spec.conflict)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in spec.update)
    temp = q(f"tmp_{spec.table}")
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if own_transaction:
            # A sync batch need not wait for its WAL to reach disk: after a crash the run is
            # redone anyway. (Never inside a caller's transaction: its commit must be durable.)
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {temp} ({temp_cols}) ON COMMIT DELETE ROWS"
        )
        # ON COMMIT only empties it at a real commit; inside a caller's transaction this block
        # is a savepoint, so empty it explicitly.
        cursor.execute(f"TRUNCATE {temp}")
        raw = cursor.cursor  # the psycopg cursor, for COPY
        with raw.copy(f"COPY {temp} ({data_cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        for column in spec.also_unique:
            cursor.execute(
                f"DELETE FROM {q(spec.table)} AS t USING {temp} AS n "  # noqa: S608
                f"WHERE t.{q(column)} = n.{q(column)} AND "
                + " AND ".join(f"t.{q(c)} <> n.{q(c)}" for c in spec.conflict)
            )
        action = f"DO UPDATE SET {updates}"
        if seen:
            cursor.execute(
                f"INSERT INTO {_seen_name(spec)} ({conflict}) "  # noqa: S608
                f"SELECT {conflict} FROM {temp}"
            )
            changing = [c for c in spec.update if c != "synced_at"]
            if changing:
                old = ", ".join(f"{q(spec.table)}.{q(c)}" for c in changing)
                new = ", ".join(f"excluded.{q(c)}" for c in changing)
                action += f" WHERE ({old}) IS DISTINCT FROM ({new})"
            else:
                action = "DO NOTHING"
        cursor.execute(
            f"INSERT INTO {q(spec.table)} ({cols}) "  # noqa: S608
            f"SELECT DISTINCT ON ({conflict}) {data_cols}, %s FROM {temp} "
            f"ON CONFLICT ({conflict}) {action}",
            [stamp],
        )


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


# --- scope ----------------------------------------------------------------------------------


@dataclass
class Scope:
    group_types: frozenset[str] = frozenset()
    group_name_patterns: tuple[str, ...] = ()
    user_statuses: frozenset[str] = frozenset()

    @classmethod
    def load(cls) -> Scope:
        stored = SyncScope.objects.filter(pk=1).first()
        if stored is None:
            return cls()
        return cls(
            group_types=frozenset(stored.group_types or ()),
            group_name_patterns=tuple(stored.group_name_patterns or ()),
            user_statuses=frozenset(stored.user_statuses or ()),
        )

    def wants_user(self, user: OktaUser) -> bool:
        return self.wants_status(user.status)

    def wants_status(self, status: str) -> bool:
        return not self.user_statuses or status in self.user_statuses

    def wants_group(self, group: OktaGroup) -> bool:
        if self.group_types and group.type not in self.group_types:
            return False
        if self.group_name_patterns:
            name = group.name.casefold()
            return any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.group_name_patterns)
        return True

    @property
    def wants_deprovisioned(self) -> bool:
        return "DEPROVISIONED" in self.user_statuses


def sync_scope_update(
    *,
    actor: Any,
    group_types: list[str],
    group_name_patterns: list[str],
    user_statuses: list[str],
) -> SyncScope:
    with transaction.atomic():
        scope, _ = SyncScope.objects.select_for_update().get_or_create(pk=1)
        scope.group_types = sorted(set(group_types))
        scope.group_name_patterns = [p for p in group_name_patterns if p]
        scope.user_statuses = sorted(set(user_statuses))
        scope.updated_by = _actor_label(actor)
        scope.save()
        audit_record(
            action="okta.sync.scope_changed",
            actor=actor,
            target_type="sync_scope",
            target_id="1",
            detail={
                "group_types": scope.group_types,
                "group_name_patterns": scope.group_name_patterns,
                "user_statuses": scope.user_statuses,
            },
        )
    return scope


# --- full sync ------------------------------------------------------------------------------


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
        for page in client.user_pages(filter=f'lastUpdated gt "{_okta_time(since)}"'):
            yield page.items
        return
    for page in client.user_pages():
        yield page.items
    if scope.wants_deprovisioned:
        # Okta leaves deactivated users out of an unfiltered listing.
        for page in client.user_pages(filter='status eq "DEPROVISIONED"'):
            yield page.items


def _okta_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _sync_users(
    client: OktaClient,
    scope: Scope,
    progress: _Progress,
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
            if pending and not (fresh and _copy_append(USERS, pending, stamp)):
                _copy_upsert(USERS, pending, stamp, seen=seen)
        else:
            _upsert_users(pending)
        progress.add("users", len(pending))

    for page in _prefetched(_user_pages(client, scope, since)):
        for data in page:
            if not scope.wants_status(str(data.get("status") or "")):
                dropped.append(data["id"])
                continue
            pending.append(_user_row(data) if use_copy else user_from_okta(data))
            if kept is not None:
                kept.append(data["id"])
        if len(pending) >= WRITE_BATCH:
            flush()
            pending = []
    flush()
    return dropped


def _sync_groups(
    client: OktaClient, scope: Scope, progress: _Progress, filter: str = ""
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
            _upsert_groups(chunk)
        progress.add("groups", len(batch))
        kept.extend(batch)
    return kept, dropped


def _sync_apps(client: OktaClient, progress: _Progress) -> list[str]:
    ids: list[str] = []
    for page in _prefetched(client.app_pages()):
        apps = [app_from_okta(d) for d in page.items]
        _upsert_apps(apps)
        progress.add("apps", len(apps))
        ids.extend(a.id for a in apps)
    return ids


def _fetch_links(
    client: OktaClient,
    owner_ids: Sequence[str],
    path: str,
    limit: int,
    to_row: Callable[[str, dict[str, Any]], tuple[Any, ...]],
    spec: _LinkTable,
    kind: str,
    progress: _Progress,
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
                _upsert_links(spec, buffer, timezone.now(), seen=seen, fresh=fresh)
                progress.add(kind, len(buffer))
                buffer = []
        _upsert_links(spec, buffer, timezone.now(), seen=seen, fresh=fresh)
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


def _membership_row(group_id: str, data: dict[str, Any]) -> tuple[str, str]:
    return (group_id, data["id"])


def _assignment_row(app_id: str, data: dict[str, Any]) -> tuple[str, str, str, str]:
    return (app_id, data["id"], _s(data.get("scope") or "USER", 10), _s(data.get("status"), 30))


def _sync_admin_roles(client: OktaClient, progress: _Progress) -> None:
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
    progress = _Progress(run, on_progress)
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
                _indexes_build(spec)  # any a killed run left dropped
                if spec.model._default_manager.exists():
                    tracked.add(spec.table)
                    _seen_reset(spec)
                else:
                    fresh.add(spec.table)
                    _indexes_drop(spec)
        progress.phase("users")
        _sync_users(
            client,
            scope,
            progress,
            seen=USERS.table in tracked,
            fresh=USERS.table in fresh,
        )
        progress.phase("groups")
        groups, _ = _sync_groups(client, scope, progress)
        progress.phase("apps")
        app_ids = _sync_apps(client, progress)
        progress.phase("memberships")
        members = _fetch_links(
            client,
            [g.id for g in groups],
            "/api/v1/groups/{id}/users",
            1000,
            _membership_row,
            MEMBERSHIPS,
            "memberships",
            progress,
            seen=MEMBERSHIPS.table in tracked,
            fresh=MEMBERSHIPS.table in fresh,
        )
        progress.phase("assignments")
        assigned = _fetch_links(
            client,
            app_ids,
            "/api/v1/apps/{id}/users",
            500,
            _assignment_row,
            ASSIGNMENTS,
            "assignments",
            progress,
            seen=ASSIGNMENTS.table in tracked,
            fresh=ASSIGNMENTS.table in fresh,
        )
        if fresh:
            progress.phase("building indexes")
            _indexes_build_all(fresh)
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
            _analyze(fresh)
        # A plain user listing leaves deactivated people out (unless the scope asks for them),
        # so the sweep above removed them rather than marking them DEPROVISIONED.
        run.counts["sessions_ended"] = statuses_changed_send(
            source="full sync", mirror_complete=True
        )
    except Exception as exc:
        log.exception("full sync %s failed", run.pk)
        progress.error(str(exc))
        _indexes_build_all(fresh)
        _run_finish(run, status=SyncStatus.FAILED, message=f"Sync failed: {exc}")
        return run
    run.phase = "done"
    SyncCursor.objects.update_or_create(
        name=LOG_CURSOR, defaults={"value": _okta_time(started - CLOCK_SKEW)}
    )
    status = SyncStatus.PARTIAL if run.errors else SyncStatus.SUCCEEDED
    message = (
        f"{len(run.errors)} object(s) could not be read; their previous rows were kept."
        if run.errors
        else ""
    )
    _run_finish(run, status=status, message=message)
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

    def sweep(spec: _LinkTable, keep_owners: list[str]) -> int:
        if spec.table in fresh:
            return 0
        if spec.table in tracked:
            return _seen_sweep(spec, started, keep_owners)
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


# A first load (empty table) writes its rows without the model's secondary indexes and builds
# them once at the end: kept during the load, the (user, group) index alone more than doubles
# the time of COPYing a million memberships (random inserts into an index larger than the
# buffer cache). Unique constraints stay: they are what catches duplicates.


def _indexes_drop(spec: _LinkTable) -> None:
    q = connection.ops.quote_name
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Never queue behind a long reader (and make everyone queue behind us): if the
            # table is busy, load it with its indexes.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            for index in spec.model._meta.indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {q(str(index.name))}")
    except DatabaseError:
        log.info("keeping the indexes of %s during the load: table busy", spec.table)


def _indexes_build(spec: _LinkTable) -> None:
    """Create the model's named indexes that are missing: dropped for a first load, or left
    dropped by a run whose process was killed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = %s",
            [spec.table],
        )
        present = {row[0] for row in cursor.fetchall()}
    missing = [i for i in spec.model._meta.indexes if i.name not in present]
    if not missing:
        return
    with connection.schema_editor() as editor:
        editor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for index in missing:
            editor.add_index(spec.model, index)


def _indexes_build_all(tables: set[str]) -> None:
    for spec in (USERS, MEMBERSHIPS, ASSIGNMENTS):
        if spec.table in tables:
            _indexes_build(spec)


def _analyze(tables: set[str]) -> None:
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(q(t) for t in sorted(tables)))


# --- incremental sync ----------------------------------------------------------------------


def _last_success_start() -> datetime | None:
    last = (
        SyncRun.objects.filter(status__in=[SyncStatus.SUCCEEDED, SyncStatus.PARTIAL])
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last


def sync_incremental(
    *,
    run: SyncRun,
    client: OktaClient,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Apply what changed since the last successful sync; its cost follows the changes.

    Users and groups come from ``lastUpdated`` / ``lastMembershipUpdated`` filters; memberships,
    app assignments, deletions and lifecycle changes from the System Log, read from the stored
    cursor up to the run's start. Only a group whose membership changed with no logged event
    has its member list re-read.
    """
    since = _last_success_start()
    if since is None:
        run.kind = SyncKind.FULL
        SyncRun.objects.filter(pk=run.pk).update(kind=SyncKind.FULL)
        return sync_full(run=run, client=client, on_progress=on_progress)
    progress = _Progress(run, on_progress)
    scope = Scope.load()
    since -= CLOCK_SKEW
    until = run.started_at
    try:
        progress.phase("users")
        changed_users: list[str] = []
        dropped_users = _sync_users(client, scope, progress, since=since, kept=changed_users)
        _delete_users(dropped_users)
        stamp = _okta_time(since)
        progress.phase("groups")
        groups, dropped_groups = _sync_groups(
            client,
            scope,
            progress,
            f'lastUpdated gt "{stamp}" or lastMembershipUpdated gt "{stamp}"',
        )
        _delete_groups(dropped_groups)
        progress.phase("system log")
        cursor = SyncCursor.objects.filter(name=LOG_CURSOR).values_list("value", flat=True).first()
        logged_groups: set[str] = set()
        refresh = Refresh()
        events = 0
        for page in client.log_pages(
            since=cursor or stamp,
            # ``until`` is exclusive and Okta times have millisecond precision: reach past the
            # run's own millisecond; the next poll starts from it again (re-applying an event
            # is harmless).
            until=_okta_time(until + timedelta(milliseconds=1)),
            filter=" or ".join(f'eventType eq "{t}"' for t in LOG_EVENT_TYPES),
        ):
            events += len(page.items)
            with transaction.atomic():
                found = events_apply_local(page.items)
            refresh.users |= found.users
            refresh.groups |= found.groups
            logged_groups.update(
                gid
                for event in page.items
                if str(event.get("eventType", "")).startswith("group.user_membership.")
                for gid in _targets(event, "UserGroup")
            )
        progress.add("log_events", events)
        refresh.users -= set(changed_users)  # already re-read through the lastUpdated filter
        if refresh:
            mirror_refresh(client=client, refresh=refresh, scope=scope)
        # Membership changes arrive as System Log events (cost follows the changes). A group
        # whose membership changed without any logged event (a group rule, an import) has its
        # member list re-read. Everyone (BUILT_IN) holds every user: its only changes are users
        # arriving (listed above) or leaving (deleted above), so it is never re-read.
        unexplained = [
            g.id
            for g in groups
            if g.type != GroupType.BUILT_IN
            and g.id not in logged_groups
            and (g.last_membership_updated is None or g.last_membership_updated > since)
        ]
        for everyone in (g for g in groups if g.type == GroupType.BUILT_IN):
            _upsert_links(MEMBERSHIPS, [(everyone.id, u) for u in changed_users], timezone.now())
        if unexplained:
            progress.phase("memberships")
            refreshed_at = timezone.now()
            members = _fetch_links(
                client,
                unexplained,
                "/api/v1/groups/{id}/users",
                1000,
                _membership_row,
                MEMBERSHIPS,
                "memberships",
                progress,
            )
            GroupMembership.objects.filter(
                group_id__in=[g for g in unexplained if g not in members.failed],
                synced_at__lt=refreshed_at,
            ).delete()
        run.counts["sessions_ended"] = statuses_changed_send(source="incremental sync")
        SyncCursor.objects.update_or_create(name=LOG_CURSOR, defaults={"value": _okta_time(until)})
        # Event-hook deliveries are kept a while for deduplication (Okta retries within hours).
        HookEvent.objects.filter(applied_at__lt=until - HOOK_EVENT_RETENTION).delete()
    except Exception as exc:
        log.exception("incremental sync %s failed", run.pk)
        progress.error(str(exc))
        _run_finish(run, status=SyncStatus.FAILED, message=f"Sync failed: {exc}")
        return run
    run.phase = "done"
    _run_finish(run, status=SyncStatus.PARTIAL if run.errors else SyncStatus.SUCCEEDED)
    return run


def _delete_users(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        OktaUser.objects.filter(id__in=ids).delete()
        GroupMembership.objects.filter(user_id__in=ids).delete()
        AppAssignment.objects.filter(user_id__in=ids).delete()
        AdminRole.objects.filter(user_id__in=ids).delete()
        statuses_changed_send(source="removed from the directory", gone=ids)


def _delete_groups(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        GroupMembership.objects.filter(group_id__in=ids).delete()
        OktaGroup.objects.filter(id__in=ids).delete()


def _delete_apps(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        AppAssignment.objects.filter(app_id__in=ids).delete()
        OktaApp.objects.filter(id__in=ids).delete()


# --- applying events (System Log entries and event-hook deliveries share a shape) ----------


def _targets(event: dict[str, Any], *types: str) -> list[str]:
    found = []
    for target in event.get("target") or []:
        if isinstance(target, dict) and target.get("type") in types and target.get("id"):
            found.append(str(target["id"]))
    return found


@dataclass
class Refresh:
    """Objects whose events say "changed" without saying how: re-read them from Okta."""

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)


def events_apply_local(events: Iterable[dict[str, Any]]) -> Refresh:
    """Apply the database side of ``events`` in ``published`` order; returns what must be
    re-read from Okta. Call it inside a transaction; it makes no HTTP calls.

    Membership and assignment events are gathered and written a batch at a time (the last
    event for a pair decides it); any other event writes the batch first, so order holds."""
    refresh = Refresh()
    links = _LinkChanges(timezone.now())
    ordered = sorted(events, key=lambda e: str(e.get("published") or ""))
    for event in ordered:
        kind = str(event.get("eventType") or "")
        users = _targets(event, "User")
        groups = _targets(event, "UserGroup")
        if kind in ("group.user_membership.add", "group.user_membership.remove"):
            if users and groups:
                links.memberships[(groups[0], users[0])] = kind.endswith(".add")
            continue
        if kind in ("application.user_membership.add", "application.user_membership.remove"):
            apps = _targets(event, "AppInstance")
            if users and apps:
                links.assignments[(apps[0], users[0])] = kind.endswith(".add")
            continue
        links.flush()
        if kind == "group.lifecycle.delete":
            _delete_groups(groups)
            refresh.groups.difference_update(groups)
        elif kind in ("group.lifecycle.create", "group.profile.update"):
            refresh.groups.update(groups)
        elif kind == "application.lifecycle.delete":
            _delete_apps(_targets(event, "AppInstance"))
        elif kind == "user.lifecycle.delete.completed":
            _delete_users(users)
            refresh.users.difference_update(users)
        elif kind.startswith(("user.lifecycle.", "user.account.")):
            refresh.users.update(users)
    links.flush()
    return refresh


@dataclass
class _LinkChanges:
    """Membership and assignment changes waiting to be written: pair -> present afterwards."""

    stamp: datetime
    memberships: dict[tuple[str, str], bool] = field(default_factory=dict)
    assignments: dict[tuple[str, str], bool] = field(default_factory=dict)

    def flush(self) -> None:
        if self.memberships:
            added = [pair for pair, present in self.memberships.items() if present]
            mirrored = set(
                OktaGroup.objects.filter(id__in={g for g, _ in added}).values_list("id", flat=True)
            )
            _upsert_links(MEMBERSHIPS, [(g, u) for g, u in added if g in mirrored], self.stamp)
            _delete_pairs(GroupMembership, "group_id", self.memberships)
            self.memberships = {}
        if self.assignments:
            added = [pair for pair, present in self.assignments.items() if present]
            _upsert_links(ASSIGNMENTS, [(a, u, "USER", "") for a, u in added], self.stamp)
            _delete_pairs(AppAssignment, "app_id", self.assignments)
            self.assignments = {}


def _delete_pairs(
    model: type[models.Model], owner: str, changes: dict[tuple[str, str], bool]
) -> None:
    """Delete the (owner, user) rows whose last change was a removal, 200 pairs a statement."""
    removed = [pair for pair, present in changes.items() if not present]
    for start in range(0, len(removed), 200):
        match = models.Q()
        for owner_id, user_id in removed[start : start + 200]:
            match |= models.Q(**{owner: owner_id, "user_id": user_id})
        model._default_manager.filter(match).delete()


def mirror_refresh(*, client: OktaClient, refresh: Refresh, scope: Scope | None = None) -> None:
    """Re-read users and groups from Okta (no transaction open) and upsert or remove them."""
    scope = scope or Scope.load()
    fresh: list[OktaUser] = []
    gone: list[str] = []
    for user_id in sorted(refresh.users):
        found = client.find_user(user_id)
        if found is None:
            gone.append(user_id)
            continue
        user = user_from_typed(found)
        if scope.wants_user(user):
            fresh.append(user)
        else:
            gone.append(user.id)
    _upsert_users(fresh)
    _delete_users(gone)
    groups: list[OktaGroup] = []
    gone_groups: list[str] = []
    for group_id in sorted(refresh.groups):
        try:
            typed = client.get_group(group_id)
        except OktaError as exc:
            if exc.is_not_found:
                gone_groups.append(group_id)
                continue
            raise
        group = OktaGroup(
            id=typed.id,
            type=typed.type[:20],
            name=typed.name[:255],
            description=typed.description,
            created=typed.created,
            last_updated=typed.last_updated,
            last_membership_updated=typed.last_membership_updated,
        )
        if scope.wants_group(group):
            groups.append(group)
        else:
            gone_groups.append(group.id)
    _upsert_groups(groups)
    _delete_groups(gone_groups)


def events_apply(
    *, events: Sequence[dict[str, Any]], client: OktaClient, scope: Scope | None = None
) -> None:
    with transaction.atomic():
        refresh = events_apply_local(events)
    if refresh:
        mirror_refresh(client=client, refresh=refresh, scope=scope)
    statuses_changed_send(source="event hook")


def sync_status() -> dict[str, Any]:
    """Counts for the admin page."""
    return {
        "users": OktaUser.objects.count(),
        "groups": OktaGroup.objects.count(),
        "apps": OktaApp.objects.count(),
        "running": SyncRun.objects.filter(status=SyncStatus.RUNNING).first(),
        "last": SyncRun.objects.exclude(status=SyncStatus.RUNNING).first(),
    }


__all__ = [
    "SyncAlreadyRunningError",
    "events_apply",
    "events_apply_local",
    "mirror_refresh",
    "sync_full",
    "sync_incremental",
    "sync_run_start",
    "sync_scope_update",
]


# --- entry points for tasks and the command ------------------------------------------------


def sync_run_execute(
    *, run_id: int, on_progress: Callable[[SyncRun], None] | None = None
) -> SyncRun:
    """Carry out a RUNNING run recorded by sync_run_start (a no-op for a finished one)."""
    from okta.connection import active_client

    run = SyncRun.objects.get(pk=run_id)
    if not run.is_running:
        return run
    try:
        client = active_client()
    except OktaError as exc:
        run.errors.append(exc.message)
        _run_finish(run, status=SyncStatus.FAILED, message=exc.message)
        return run
    with client:
        if run.kind == SyncKind.FULL:
            return sync_full(run=run, client=client, on_progress=on_progress)
        return sync_incremental(run=run, client=client, on_progress=on_progress)


def sync_scheduled(*, kind: str) -> int | None:
    """What beat runs: start a sync of ``kind`` unless one is running; returns the run id."""
    try:
        run = sync_run_start(actor="schedule", kind=kind)
    except SyncAlreadyRunningError:
        log.info("scheduled %s sync skipped: a sync is already running", kind)
        return None
    sync_run_execute(run_id=run.pk)
    return run.pk
