"""Lets the test suite empty the append-only audit table (loaded from the root conftest).

Transactional tests (``transaction=True``, ``live_server``, real workers) end with Django's
flush, which TRUNCATEs (PostgreSQL) or DELETEs (SQLite) every table; the audit triggers refuse
that, as they must in production. While tests run, a flush that touches the audit table drops
the triggers, empties the tables and reinstalls the triggers inside the flush's own transaction.
Nothing else is relaxed: UPDATE and DELETE of audit rows stay refused in every test.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

from audit import guards

_original_execute_sql_flush = BaseDatabaseOperations.execute_sql_flush


def _execute_sql_flush_past_audit_guards(self: BaseDatabaseOperations, sql_list: Any) -> None:
    if not any(guards.TABLE in sql for sql in sql_list):
        _original_execute_sql_flush(self, sql_list)
        return
    with transaction.atomic(using=self.connection.alias):
        guards.remove(self.connection)
        _original_execute_sql_flush(self, sql_list)
        guards.install(self.connection)


# Patched at import: the plugin loads before any test database exists or is flushed.
BaseDatabaseOperations.execute_sql_flush = _execute_sql_flush_past_audit_guards  # type: ignore[method-assign]
