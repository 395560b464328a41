"""Append N synthetic, correctly chained audit events fast (for benchmarks and demos).

PostgreSQL: hashes are computed in Python in batches and streamed with COPY, one transaction
per batch holding the append lock. Other databases: bulk_create in batches. For large counts
the trigram search index is dropped while loading and rebuilt after (much faster than
maintaining it row by row): seed benchmark databases, not a live system.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from audit import search_index
from audit.chain import HASHED_FIELDS, event_hash
from audit.models import AuditEvent
from audit.services import chain_head_for_append

ACTIONS = [
    ("request.submitted", "access_request"),
    ("request.decided", "access_request"),
    ("request.cancelled", "access_request"),
    ("operation.succeeded", "operation"),
    ("operation.failed", "operation"),
    ("grant.revoked", "grant"),
    ("signin.succeeded", "user"),
    ("signin.refused", "user"),
    ("catalog.item_updated", "catalog_item"),
]
OUTCOMES = ["success"] * 8 + ["failure", "denied"]
COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
REBUILD_SEARCH_INDEX_AT = 50_000


def synthetic_events(count: int, *, seed: int, start: dt.datetime) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    step = dt.timedelta(days=365) / max(count, 1)
    for n in range(count):
        action, target_type = ACTIONS[rng.randrange(len(ACTIONS))]
        person = rng.randrange(5000)
        target = rng.randrange(100_000)
        yield {
            "occurred_at": start + step * n,
            "action": action,
            "actor": f"user{person:05d}@example.com",
            "actor_okta_id": f"00useed{person:013d}",
            "target_type": target_type,
            "target_id": str(target),
            "target_label": f"{target_type.replace('_', ' ').title()} {target}",
            "outcome": OUTCOMES[rng.randrange(len(OUTCOMES))],
            "ip": f"10.{person % 256}.{target % 256}.{n % 250 + 1}",
            "user_agent": "audit_seed",
            "detail": {"seeded": True, "n": n},
        }


class Command(BaseCommand):
    help = "Append N synthetic chained audit events (benchmark data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--batch-size", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, count: int, batch_size: int, seed: int, **options: Any) -> None:
        if count < 0 or batch_size < 1:
            raise CommandError("--count must be >= 0 and --batch-size >= 1")
        began = time.monotonic()
        events = synthetic_events(count, seed=seed, start=timezone.now() - dt.timedelta(days=365))
        written = 0
        rebuild_index = count >= REBUILD_SEARCH_INDEX_AT and search_index.drop(connection)
        while written < count:
            batch = [next(events) for _ in range(min(batch_size, count - written))]
            with transaction.atomic():
                chained = _chained(batch, chain_head_for_append())
                if connection.vendor == "postgresql":
                    _copy(chained)
                else:
                    AuditEvent.objects.bulk_create(AuditEvent(**fields) for fields in chained)
            written += len(batch)
            if options["verbosity"] > 1:
                self.stderr.write(f"{written}/{count}")
        if rebuild_index:
            search_index.create(connection)
        self.stdout.write(f"Appended {written} audit events in {time.monotonic() - began:.1f} s.")


def _chained(batch: list[dict[str, Any]], prev_hash: str) -> Iterator[dict[str, Any]]:
    # A generator, so hashing in Python overlaps with the database ingesting the COPY stream.
    for fields in batch:
        fields["prev_hash"] = prev_hash
        fields["hash"] = prev_hash = event_hash(fields, prev_hash)
        yield fields


def _copy(batch: Iterator[dict[str, Any]]) -> None:
    table = AuditEvent._meta.db_table
    sql = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for fields in batch:
            copy.write_row(
                [json.dumps(fields[name]) if name == "detail" else fields[name] for name in COLUMNS]
            )
