"""PostgreSQL's trigram index on the target label (the audit page's "target name contains").

Matches the SQL of ``target_label__icontains`` (``UPPER(target_label::text) LIKE UPPER(...)``).
pg_trgm is a trusted extension (PostgreSQL 13+), so the database owner may create it; where the
role may not, there is no index and the search scans. Created by migration 0004.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction

INDEX = "audit_target_label_trgm"
logger = logging.getLogger(__name__)


def create(connection: Any) -> bool:
    if connection.vendor != "postgresql":
        return False
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON audit_auditevent "
                "USING gin (UPPER(target_label::text) gin_trgm_ops)"
            )
    except DatabaseError as exc:
        logger.warning("audit: no trigram index on target_label: %s", exc)
        return False
    return True


def drop(connection: Any) -> bool:
    """Drop the index; True when there was one."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [INDEX])
        existed = cursor.fetchone() is not None
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    return existed
