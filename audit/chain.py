"""The hash chain: how an event's hash is computed and how the whole chain is checked.

hash = sha256(canonical JSON of the event's fields + prev_hash). The canonical form is
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` of a flat object with
the fields below, ``occurred_at`` as ISO 8601 in UTC with microseconds (``…T03:04:05.123456+00:00``). ``CHAIN_VERSION`` lets the
format change later without invalidating old events. The id is deliberately not hashed (it is
assigned by the database after the hash is computed); order is carried by ``prev_hash``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from audit.models import GENESIS_HASH, AuditEvent

CHAIN_VERSION = 1

HASHED_FIELDS = (
    "occurred_at",
    "action",
    "actor",
    "actor_okta_id",
    "target_type",
    "target_id",
    "target_label",
    "outcome",
    "ip",
    "user_agent",
    "detail",
)

# Every column of an event, in the order the exports and the stream carry them.
EVENT_COLUMNS = ("id", *HASHED_FIELDS, "prev_hash", "hash")


# One encoder for every event: json.dumps would build a new one per call.
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def stream(queryset: QuerySet[Any, Any], *, chunk_size: int = 2000) -> Iterator[Any]:
    """The rows of ``queryset`` in constant memory.

    On PostgreSQL the read runs in a transaction: outside one, Django declares its server-side
    cursor WITH HOLD, and the server materialises the whole result before the first row.
    (SQLite streams with fetchmany; a transaction there would take the write lock.)
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            yield from queryset.iterator(chunk_size=chunk_size)
    else:
        yield from queryset.iterator(chunk_size=chunk_size)


def _numbers_as_stored(value: Any) -> Any:
    """Integral floats as ints: PostgreSQL's jsonb gives ``1e20`` back as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _numbers_as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_stored(item) for item in value]
    return value


def event_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """The hash of an event whose HASHED_FIELDS are in ``fields``, chained to ``prev_hash``."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["detail"] = _numbers_as_stored(payload["detail"])
    payload["occurred_at"] = canonical_time(fields["occurred_at"])
    payload["prev_hash"] = prev_hash
    payload["v"] = CHAIN_VERSION
    return hashlib.sha256(_canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head_id: int | None
    head_hash: str
    broken_id: int | None = None
    problem: str = ""


def chain_walk(*, chunk_size: int = 5000) -> Iterator[ChainReport]:
    """Check the chain in id order in constant memory.

    Yields a progress report every ``chunk_size`` events (``ok`` so far) and one final report:
    either the whole chain is intact, or the first broken link with its id and what is wrong.
    """
    columns = EVENT_COLUMNS
    rows = stream(AuditEvent.objects.order_by("id").values_list(*columns), chunk_size=chunk_size)
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    checked = 0
    for row in rows:
        fields = dict(zip(columns, row, strict=True))
        event_id = fields["id"]
        if fields["prev_hash"] != expected_prev:
            if previous_id is None:
                problem = (
                    f"event {event_id} is the first event but its prev_hash is not the genesis "
                    "value: earlier events were deleted"
                )
            else:
                problem = (
                    f"event {event_id}: prev_hash does not match the hash of event {previous_id} "
                    "before it: events between them were deleted or reordered"
                )
            yield ChainReport(False, checked, previous_id, expected_prev, event_id, problem)
            return
        if event_hash(fields, fields["prev_hash"]) != fields["hash"]:
            problem = f"event {event_id}: its contents do not match its hash: the event was altered"
            yield ChainReport(False, checked, previous_id, expected_prev, event_id, problem)
            return
        expected_prev = fields["hash"]
        previous_id = event_id
        checked += 1
        if checked % chunk_size == 0:
            yield ChainReport(True, checked, previous_id, expected_prev)
    yield ChainReport(True, checked, previous_id, expected_prev)


def chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """The final report of ``chain_walk``."""
    report = ChainReport(True, 0, None, GENESIS_HASH)
    for report in chain_walk(chunk_size=chunk_size):  # noqa: B007 - the last one is the answer
        pass
    return report


def event_hash_matches(event: AuditEvent) -> bool:
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    return event_hash(fields, event.prev_hash) == event.hash
