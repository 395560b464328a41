from __future__ import annotations

import datetime as dt
import itertools
from functools import partial
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.test import RequestFactory

from audit.chain import chain_verify, event_hash_matches
from audit.models import GENESIS_HASH, AuditEvent
from audit.services import REDACTED, audit_record, audit_record_many, redact
from tests.audit.conftest import person
from tests.fixtures.concurrency import at_once

pytestmark = pytest.mark.django_db


def test_audit_record_user_actor_copies_username_and_okta_id() -> None:
    maya = person("maya.chen", "00umaya0000001")
    event = audit_record(
        action="request.submitted",
        actor=maya,
        target_type="access_request",
        target_id="42",
        target_label="Engineering - Backend",
        detail={"reason": "on-call", "duration_days": 30},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_okta_id) == ("maya.chen", "00umaya0000001")
    assert (stored.target_type, stored.target_id) == ("access_request", "42")
    assert stored.detail == {"reason": "on-call", "duration_days": 30}
    assert stored.outcome == "success"


def test_audit_record_without_actor_is_system() -> None:
    assert audit_record(action="grant.revoked").actor == "system"
    assert audit_record(action="sync.finished", actor="okta").actor == "okta"


def test_audit_record_request_supplies_ip_and_user_agent() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="::FFFF:10.0.0.7", HTTP_USER_AGENT="Firefox/140"
    )
    event = audit_record(action="signin.succeeded", request=request)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip == "10.0.0.7"
    assert stored.user_agent == "Firefox/140"
    assert event_hash_matches(stored)


def test_audit_record_bad_ip_is_left_blank() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    assert audit_record(action="signin.refused", request=request).ip == ""


def test_audit_record_chains_each_event_to_the_one_before() -> None:
    first = audit_record(action="a.one")
    second = audit_record(action="a.two")
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len(second.hash) == 64 and second.hash != first.hash
    assert chain_verify().ok


def test_audit_record_stored_row_hashes_to_its_hash() -> None:
    # Values that databases like to re-render: microseconds, floats, unicode, nesting, long text.
    event = audit_record(
        action="operation.failed",
        actor="system",
        target_label="Ångström, 北京 " + "x" * 400,
        outcome="failure",
        detail={
            "status": 429,
            "ratio": 0.1,
            "big": 1e20,
            "when": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
            "nested": {"z": [1, 2.5, None, True], "a": "é"},
        },
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert len(stored.target_label) == 300
    assert stored.hash == event.hash
    assert event_hash_matches(stored)


def test_audit_record_joins_the_callers_transaction() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="request.submitted")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


def test_audit_record_query_count_is_small(django_assert_num_queries: Any) -> None:
    audit_record(action="warm.up")
    # PostgreSQL: advisory lock + head read + insert; SQLite: head read + insert.
    expected = 3 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(expected):
        audit_record(action="request.decided", detail={"decision": "approved"})


def test_audit_record_redacts_secrets_in_detail() -> None:
    event = audit_record(
        action="operation.succeeded",
        detail={"resetPasswordUrl": "https://acme.okta.com/reset/abc", "user": "00u1"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.detail == {"resetPasswordUrl": REDACTED, "user": "00u1"}


def test_audit_record_without_action_is_refused() -> None:
    with pytest.raises(ValueError, match="action"):
        audit_record(action="")


def test_redact_secret_keys_at_any_depth() -> None:
    detail = {
        "api_token": "t0k",
        "Password": "hunter2",
        "client_secret": "s",
        "private_key": "-----BEGIN",
        "apiKey": "k",
        "Authorization": "SSWS 00abc",
        "reset_password_url": "https://x/reset",
        "activationLink": "https://x/activate",
        "nested": [{"refresh_token": "r", "kept": 1}],
        "header": "SSWS 00secretTokenValue",
        "bearer": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig",
        "comment": "Basically I need this for the on-call rota",
        "basic": "Basic dXNlcjpwYXNzd29yZA==",
        "reason": "need access for the Q3 audit",
        "url": "https://acme.okta.com/app/1",
    }
    assert redact(detail) == {
        "api_token": REDACTED,
        "Password": REDACTED,
        "client_secret": REDACTED,
        "private_key": REDACTED,
        "apiKey": REDACTED,
        "Authorization": REDACTED,
        "reset_password_url": REDACTED,
        "activationLink": REDACTED,
        "nested": [{"refresh_token": REDACTED, "kept": 1}],
        "header": REDACTED,
        "bearer": REDACTED,
        "comment": "Basically I need this for the on-call rota",
        "basic": REDACTED,
        "reason": "need access for the Q3 audit",
        "url": "https://acme.okta.com/app/1",
    }


def test_redact_leaves_the_input_unchanged() -> None:
    detail = {"token": "t", "items": [1, 2]}
    redact(detail)
    assert detail == {"token": "t", "items": [1, 2]}


def test_audit_record_many_chains_in_order() -> None:
    head = audit_record(action="before.batch")
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    events = audit_record_many(
        events=[
            {"action": "operation.succeeded", "target_id": str(i), "detail": {"token": "x"}}
            for i in range(5)
        ],
        request=request,
    )
    stored = list(AuditEvent.objects.filter(action="operation.succeeded").order_by("id"))
    assert [e.target_id for e in stored] == ["0", "1", "2", "3", "4"]
    assert stored[0].prev_hash == head.hash
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.hash
    assert all(e.ip == "10.1.2.3" and e.detail == {"token": REDACTED} for e in stored)
    assert [e.hash for e in events] == [e.hash for e in stored]
    assert chain_verify().ok


def test_audit_record_many_empty_writes_nothing() -> None:
    assert audit_record_many(events=[]) == []
    assert not AuditEvent.objects.exists()


def test_audit_event_two_events_with_same_predecessor_refused() -> None:
    first = audit_record(action="a.one")
    fork = AuditEvent(action="a.fork", prev_hash=first.prev_hash, hash="f" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save()


@pytest.mark.django_db(transaction=True)
def test_audit_record_concurrent_writers_keep_one_chain() -> None:
    """On PostgreSQL every writer waits for the advisory lock and succeeds. SQLite's in-memory
    test database (shared cache) refuses a second writer at once instead of waiting as the file
    database does; there the point is that no writer forks the chain."""
    threads, per_thread = 6, 15
    written: list[str] = []

    def write(n: int) -> None:
        for i in range(per_thread):
            try:
                with transaction.atomic():
                    audit_record(action="load.test", target_id=f"{n}-{i}")
                written.append(f"{n}-{i}")
            except OperationalError as exc:
                if connection.vendor != "sqlite" or "locked" not in str(exc):
                    raise

    assert at_once([partial(write, n) for n in range(threads)]) == [None] * threads
    if connection.vendor == "postgresql":
        assert len(written) == threads * per_thread
    stored = set(AuditEvent.objects.values_list("target_id", flat=True))
    assert stored == set(written)
    report = chain_verify()
    assert report.ok and report.checked == len(written) > 0


def test_audit_record_behind_trusted_proxies_takes_the_forwarded_client(settings: Any) -> None:
    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    # The proxy appended the address it saw; the entry before it is whatever the client sent.
    assert audit_record(action="signin.succeeded", request=request).ip == "203.0.113.9"


def test_audit_record_without_trusted_proxies_ignores_forwarded_for() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert audit_record(action="signin.succeeded", request=request).ip == "10.0.0.1"


def test_audit_record_names_okta_targets_from_the_mirror_at_write_time(
    django_assert_num_queries: Any,
) -> None:
    from okta.models import OktaGroup, OktaUser

    group = OktaGroup.objects.create(id="00gbackend00001", name="Engineering - Backend")
    maya = OktaUser.objects.create(
        id="00umaya0000001", login="maya.chen@acme.com", first_name="Maya", last_name="Chen"
    )
    membership = audit_record(
        action="okta.operation.queued",
        target_type="group",
        target_id=group.id,
        detail={"kind": "group.member.add", "group_id": group.id, "user_id": maya.id},
    )
    assert membership.target_label == "Engineering - Backend · Maya Chen"
    assert event_hash_matches(AuditEvent.objects.get(pk=membership.pk))
    kept = audit_record(
        action="access_request.submitted",
        target_type="group",
        target_id=group.id,
        target_label="As the writer said",
    )
    assert kept.target_label == "As the writer said"
    gone = audit_record(action="okta.operation.succeeded", target_type="group", target_id="00gx")
    assert gone.target_label == ""  # not in the mirror: the page shows the id
    group.name = "Backend (renamed)"
    group.save()
    assert AuditEvent.objects.get(pk=membership.pk).target_label.startswith("Engineering")
    # A batch looks each kind up once, however many events: one query per kind, lock, head,
    # insert.
    events = [
        {"action": "okta.operation.queued", "target_type": "user", "target_id": maya.id},
        {"action": "okta.operation.queued", "target_type": "group", "target_id": group.id},
    ]
    with django_assert_num_queries(4 if connection.vendor == "sqlite" else 5):
        stored = audit_record_many(events=events * 5)
    assert [e.target_label for e in stored[:2]] == ["Maya Chen", "Backend (renamed)"]
