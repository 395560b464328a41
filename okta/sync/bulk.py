"""Writing the mirror in bulk: upserts of users, groups and apps, and raw statements for the
big tables.

Users, groups and apps go through ``bulk_create(update_conflicts=True)``; memberships and
assignments (and, on PostgreSQL, users) as raw tuples through one ``INSERT ... ON CONFLICT`` per
batch (on PostgreSQL through COPY into a temporary table, or straight into the table when a full
sync finds it empty: a first load has nothing to merge).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import DatabaseError, IntegrityError, connection, models, transaction

from okta.models import AdminRole, AppAssignment, GroupMembership, OktaApp, OktaGroup, OktaUser
from okta.signals import statuses_changed_send
from okta.sync.rows import APP_ROWS, GROUP_ROWS, USER_ROWS

log = logging.getLogger(__name__)

WRITE_BATCH = 5000
COPY_MIN_ROWS = 200  # below this, one INSERT ... ON CONFLICT is cheaper than a COPY round


# What an upsert refreshes: the columns the field tables mirror, and the row's synced_at.
_USER_FIELDS = [*USER_ROWS.columns[1:], "synced_at"]
_GROUP_FIELDS = [*GROUP_ROWS.columns[1:], "synced_at"]
_APP_FIELDS = [*APP_ROWS.columns[1:], "synced_at"]


def upsert_users(users: Sequence[OktaUser]) -> None:
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


def upsert_groups(groups: Sequence[OktaGroup]) -> None:
    if groups:
        OktaGroup.objects.bulk_create(
            groups, update_conflicts=True, unique_fields=["id"], update_fields=_GROUP_FIELDS
        )


def upsert_apps(apps: Sequence[OktaApp]) -> None:
    if apps:
        OktaApp.objects.bulk_create(
            apps, update_conflicts=True, unique_fields=["id"], update_fields=_APP_FIELDS
        )


# --- raw bulk writes for the big link tables ------------------------------------------------


@dataclass(frozen=True)
class LinkTable:
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


MEMBERSHIPS = LinkTable(
    GroupMembership, ("group_id", "user_id", "synced_at"), ("group_id", "user_id")
)
ASSIGNMENTS = LinkTable(
    AppAssignment,
    ("app_id", "user_id", "scope", "status", "synced_at"),
    ("app_id", "user_id"),
)
USERS = LinkTable(
    OktaUser,
    (*USER_ROWS.columns, "synced_at"),  # rows.user_row writes them from Okta's JSON
    ("id",),
    also_unique=("login",),
)


def upsert_links(
    spec: LinkTable,
    rows: Sequence[tuple[Any, ...]],
    stamp: datetime,
    *,
    seen: bool = False,
    fresh: bool = False,
) -> None:
    """Insert or refresh ``rows`` (tuples without synced_at) in one statement per batch.

    ``fresh``: the table was empty when the full sync began (PostgreSQL only, see copy_append).
    Table and column names come from model metadata, never from input; values are parameters.
    """
    if not rows:
        return
    if fresh and connection.vendor == "postgresql" and copy_append(spec, rows, stamp):
        return
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in spec.columns)
    conflict = ", ".join(q(c) for c in spec.conflict)
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in spec.update)
    if connection.vendor == "postgresql" and (seen or len(rows) >= COPY_MIN_ROWS):
        copy_upsert(spec, rows, stamp, seen=seen)
        return
    value = connection.ops.adapt_datetimefield_value(stamp)
    placeholders = ", ".join(["%s"] * len(spec.columns))
    sql = (
        f"INSERT INTO {q(spec.table)} ({cols}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row, value) for row in rows])


def _seen_name(spec: LinkTable) -> str:
    return connection.ops.quote_name(f"seen_{spec.table}")


def seen_reset(spec: LinkTable) -> None:
    """PostgreSQL full sync: a temporary table of the keys this run has seen, so rows that did
    not change are left alone (no update per row) and the sweep is an anti-join."""
    q = connection.ops.quote_name
    columns = ", ".join(f"{q(c)} {spec.db_type(c)}" for c in spec.conflict)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_seen_name(spec)} ({columns})")
        cursor.execute(f"TRUNCATE {_seen_name(spec)}")


def seen_sweep(spec: LinkTable, started: datetime, keep_owners: Sequence[str]) -> int:
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


def copy_append(spec: LinkTable, rows: Sequence[tuple[Any, ...]], stamp: datetime) -> bool:
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


def copy_upsert(
    spec: LinkTable, rows: Sequence[tuple[Any, ...]], stamp: datetime, *, seen: bool = False
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


# A first load (empty table) writes its rows without the model's secondary indexes and builds
# them once at the end: kept during the load, the (user, group) index alone more than doubles
# the time of COPYing a million memberships (random inserts into an index larger than the
# buffer cache). Unique constraints stay: they are what catches duplicates.


def indexes_drop(spec: LinkTable) -> None:
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


def indexes_build(spec: LinkTable) -> None:
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


def indexes_build_all(tables: set[str]) -> None:
    for spec in (USERS, MEMBERSHIPS, ASSIGNMENTS):
        if spec.table in tables:
            indexes_build(spec)


def analyze(tables: set[str]) -> None:
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(q(t) for t in sorted(tables)))


def delete_users(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        OktaUser.objects.filter(id__in=ids).delete()
        GroupMembership.objects.filter(user_id__in=ids).delete()
        AppAssignment.objects.filter(user_id__in=ids).delete()
        AdminRole.objects.filter(user_id__in=ids).delete()
        statuses_changed_send(source="removed from the directory", gone=ids)


def delete_groups(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        GroupMembership.objects.filter(group_id__in=ids).delete()
        OktaGroup.objects.filter(id__in=ids).delete()


def delete_apps(ids: Sequence[str]) -> None:
    if not ids:
        return
    with transaction.atomic():
        AppAssignment.objects.filter(app_id__in=ids).delete()
        OktaApp.objects.filter(id__in=ids).delete()
