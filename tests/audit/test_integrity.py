"""The trail is append-only in the model and in the database, and tampering is detectable."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import guards
from audit.chain import chain_verify, chain_walk
from audit.models import GENESIS_HASH, AuditEvent, AuditTrailImmutableError
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def _five_events() -> list[AuditEvent]:
    return [
        audit_record(action="request.submitted", target_id=str(n), detail={"n": n})
        for n in range(5)
    ]


def _raw(sql: str, params: list[Any] | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _tamper(sql: str, params: list[Any] | None = None) -> None:
    """What someone with database access could do after dropping the triggers."""
    guards.remove(connection)
    try:
        _raw(sql, params)
    finally:
        guards.install(connection)


def test_audit_event_save_of_existing_row_refused() -> None:
    event = audit_record(action="request.submitted")
    event.outcome = "failure"
    with pytest.raises(AuditTrailImmutableError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).outcome == "success"


def test_audit_event_delete_refused() -> None:
    event = audit_record(action="request.submitted")
    with pytest.raises(AuditTrailImmutableError):
        event.delete()
    with pytest.raises(AuditTrailImmutableError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_event_queryset_update_refused() -> None:
    event = audit_record(action="request.submitted")
    with pytest.raises(AuditTrailImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    assert AuditEvent.objects.get(pk=event.pk).outcome == "success"


def test_audit_table_raw_sql_update_refused() -> None:
    event = audit_record(action="request.submitted", detail={"reason": "on-call"})
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"UPDATE {guards.TABLE} SET detail = %s WHERE id = %s", ['{"reason": "x"}', event.pk])
    assert AuditEvent.objects.get(pk=event.pk).detail == {"reason": "on-call"}


def test_audit_table_raw_sql_delete_refused() -> None:
    event = audit_record(action="request.submitted")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"DELETE FROM {guards.TABLE} WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"DELETE FROM {guards.TABLE}")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_table_truncate_refused() -> None:
    audit_record(action="request.submitted")
    # SQLite has no TRUNCATE: its equivalent is an unqualified DELETE (refused above).
    sql = (
        f"TRUNCATE {guards.TABLE}"
        if connection.vendor == "postgresql"
        else (f"DELETE FROM {guards.TABLE}")
    )
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql)
    assert AuditEvent.objects.count() == 1


def test_audit_table_insert_still_allowed_with_guards() -> None:
    _five_events()
    assert AuditEvent.objects.count() == 5


def test_chain_verify_intact_chain_passes() -> None:
    events = _five_events()
    report = chain_verify()
    assert report.ok
    assert report.checked == 5
    assert (report.head_id, report.head_hash) == (events[-1].pk, events[-1].hash)


def test_chain_walk_reports_progress_per_chunk() -> None:
    _five_events()
    reports = list(chain_walk(chunk_size=2))
    assert [r.checked for r in reports] == [2, 4, 5]
    assert all(r.ok for r in reports)


def test_audit_verify_intact_chain_passes() -> None:
    events = _five_events()
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact: 5 events verified" in out.getvalue()
    assert events[-1].hash in out.getvalue()


def test_audit_verify_empty_trail_passes() -> None:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "empty" in out.getvalue()


def test_audit_verify_altered_detail_detected_at_that_event() -> None:
    events = _five_events()
    _tamper(f"UPDATE {guards.TABLE} SET detail = %s WHERE id = %s", ['{"n": 99}', events[2].pk])
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", chunk_size=2)
    assert caught.value.returncode == 1
    message = str(caught.value)
    assert f"broken at event {events[2].pk}" in message
    assert "altered" in message
    assert "2 events before it are intact" in message


def test_audit_verify_altered_and_rehashed_event_detected_at_the_next() -> None:
    """Recomputing the altered event's own hash does not help: the next link breaks."""
    from audit.chain import event_hash

    events = _five_events()
    fields = {name: getattr(events[2], name) for name in ("occurred_at", "action", "actor")} | {
        "actor_okta_id": "",
        "target_type": "",
        "target_id": "2",
        "target_label": "",
        "outcome": "denied",
        "ip": "",
        "user_agent": "",
        "detail": {"n": 2},
    }
    forged = event_hash(fields, events[2].prev_hash)
    _tamper(
        f"UPDATE {guards.TABLE} SET outcome = 'denied', hash = %s WHERE id = %s",
        [forged, events[2].pk],
    )
    report = chain_verify()
    assert not report.ok
    assert report.broken_id == events[3].pk
    assert f"event {events[2].pk}" in report.problem


def test_audit_verify_deleted_event_detected_at_the_next() -> None:
    events = _five_events()
    _tamper(f"DELETE FROM {guards.TABLE} WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify")
    assert caught.value.returncode == 1
    assert f"broken at event {events[2].pk}" in str(caught.value)
    assert "deleted" in str(caught.value)


def test_audit_verify_deleted_first_event_detected() -> None:
    events = _five_events()
    assert events[0].prev_hash == GENESIS_HASH
    _tamper(f"DELETE FROM {guards.TABLE} WHERE id = %s", [events[0].pk])
    report = chain_verify()
    assert not report.ok
    assert report.broken_id == events[1].pk
    assert "first event" in report.problem


def test_audit_seed_appends_chained_events_after_existing_ones() -> None:
    first = audit_record(action="before.seed")
    out = StringIO()
    call_command("audit_seed", count=45, batch_size=20, stdout=out)
    assert "Appended 45 audit events" in out.getvalue()
    assert AuditEvent.objects.count() == 46
    seeded = AuditEvent.objects.exclude(pk=first.pk).order_by("id").first()
    assert seeded is not None and seeded.prev_hash == first.hash
    report = chain_verify()
    assert report.ok and report.checked == 46


def test_audit_verify_expected_head_still_present_passes() -> None:
    events = _five_events()
    out = StringIO()
    call_command("audit_verify", expect_hash=events[2].hash, stdout=out)
    assert "intact" in out.getvalue()


def test_audit_verify_events_cut_from_the_end_detected_with_expected_hash() -> None:
    events = _five_events()
    _tamper(f"DELETE FROM {guards.TABLE} WHERE id >= %s", [events[3].pk])
    call_command("audit_verify", stdout=StringIO())  # the chain alone cannot tell
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", expect_hash=events[4].hash)
    assert caught.value.returncode == 1
    assert f"ends at event {events[2].pk}" in str(caught.value)


def test_audit_seed_large_load_keeps_the_search_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from audit import search_index
    from audit.management.commands import audit_seed

    monkeypatch.setattr(audit_seed, "REBUILD_SEARCH_INDEX_AT", 10)
    call_command("audit_seed", count=30, batch_size=7, stdout=StringIO())
    assert chain_verify().checked == 30
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [search_index.INDEX])
            assert cursor.fetchone() is not None
    assert AuditEvent.objects.filter(target_label__icontains="request").exists()
