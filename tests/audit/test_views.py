from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import AccessRequest
from approvals.services.decisions import access_request_decide
from audit import guards
from audit.models import AuditEvent, AuditVerification
from audit.services import audit_record, audit_record_many, verification_run
from audit.views import PAGE_SIZE, csv_safe
from okta.models import OktaGroup
from tests.approvals.conftest import ensure_default_policies, item_make, submit
from tests.fixtures.dispatch import TasksSent
from tests.world import Cast

pytestmark = pytest.mark.django_db

LIST = "/audit/"


def _login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def _body(response: Any) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _many(count: int, **fields: Any) -> None:
    audit_record_many(events=[{"action": "request.submitted", **fields} for _ in range(count)])


# --- the list ---------------------------------------------------------------------------------


def test_event_list_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_event_list_stranger_is_forbidden(client: Client, stranger: Any) -> None:
    audit_record(action="request.submitted", target_label="Engineering - Backend")
    response = _login(client, stranger).get(LIST)
    assert response.status_code == 403
    assert b"Engineering - Backend" not in response.content


def test_event_list_auditor_sees_events_newest_first(client: Client, auditor: Any) -> None:
    audit_record(action="request.submitted", actor="maya.chen", target_label="First item")
    audit_record(action="request.decided", actor="priya.patel", target_label="Second item")
    response = _login(client, auditor).get(LIST)
    body = _body(response)
    assert response.status_code == 200
    assert body.index("Second item") < body.index("First item")
    assert "priya.patel" in body and "request.decided" in body
    assert 'data-testid="verify-button"' in body
    assert 'data-testid="export-csv"' in body


def test_event_list_rows_link_to_each_event_and_name_the_outcome(
    client: Client, auditor: Any
) -> None:
    event = audit_record(action="operation.failed", outcome="failure")
    body = _body(_login(client, auditor).get(LIST))
    assert f'href="{reverse("audit:detail", args=[event.pk])}"' in body
    # The outcome is a word beside its colour and icon.
    assert (
        '<span class="badge text-bg-danger"><span aria-hidden="true">✖</span> failure</span>'
        in (body)
    )


def test_event_list_viewer_without_export_sees_no_export_links(client: Client, viewer: Any) -> None:
    audit_record(action="request.submitted")
    body = _body(_login(client, viewer).get(LIST))
    assert "request.submitted" in body
    assert 'data-testid="export-csv"' not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "maya.chen"}, {"maya-request"}),
        ({"action": "operation.failed"}, {"okta-failure"}),
        ({"action": "request.*"}, {"maya-request", "priya-decision"}),
        ({"outcome": "denied"}, {"priya-decision"}),
        ({"target_type": "operation", "target_id": "7"}, {"okta-failure"}),
        ({"q": "BACKEND"}, {"maya-request", "priya-decision"}),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, {"priya-decision"}),
    ],
)
def test_event_list_filters(
    client: Client, auditor: Any, query: dict[str, str], expected: set[str]
) -> None:
    audit_record(
        action="request.submitted",
        actor="maya.chen",
        target_type="access_request",
        target_id="1",
        target_label="Engineering - Backend",
        detail={"marker": "maya-request"},
    )
    audit_record(
        action="request.decided",
        actor="priya.patel",
        target_type="access_request",
        target_id="1",
        target_label="Engineering - Backend",
        outcome="denied",
        detail={"marker": "priya-decision"},
    )
    audit_record(
        action="operation.failed",
        actor="system",
        target_type="operation",
        target_id="7",
        target_label="Add to Finance",
        outcome="failure",
        detail={"marker": "okta-failure"},
    )
    # Dates are set through the model's test-only door: insert order and chain do not matter here.
    days = {
        "maya-request": dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC),
        "priya-decision": dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC),
        "okta-failure": dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.UTC),
    }
    guards.remove(connection)
    with connection.cursor() as cursor:
        for marker, when in days.items():
            cursor.execute(
                f"UPDATE {guards.TABLE} SET occurred_at = %s WHERE detail LIKE %s"
                if connection.vendor == "sqlite"
                else f"UPDATE {guards.TABLE} SET occurred_at = %s WHERE detail->>'marker' = %s",
                [when, f"%{marker}%" if connection.vendor == "sqlite" else marker],
            )
    guards.install(connection)

    response = _login(client, auditor).get(LIST, query)
    assert response.status_code == 200
    shown = {event.detail["marker"] for event in response.context["page"].events}
    assert shown == expected


def test_event_list_bad_filter_shows_message_and_no_events(client: Client, auditor: Any) -> None:
    audit_record(action="request.submitted")
    response = _login(client, auditor).get(
        LIST, {"date_from": "2026-05-02", "date_to": "2026-05-01", "before": "abc"}
    )
    body = _body(response)
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in body
    assert "The start date is after the end date." in body
    assert response.context["page"] is None
    assert 'data-testid="audit-row"' not in body


def test_event_list_keyset_pages_through_events(client: Client, auditor: Any) -> None:
    _many(PAGE_SIZE * 2 + 5)
    ids = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))
    _login(client, auditor)

    first = client.get(LIST).context
    assert [e.id for e in first["page"].events] == ids[:PAGE_SIZE]
    assert first["newer_query"] == ""
    assert first["older_query"] == f"before={ids[PAGE_SIZE - 1]}"

    second = client.get(f"{LIST}?{first['older_query']}").context
    assert [e.id for e in second["page"].events] == ids[PAGE_SIZE : PAGE_SIZE * 2]
    assert second["newer_query"] == f"after={ids[PAGE_SIZE]}"

    third = client.get(f"{LIST}?{second['older_query']}").context
    assert [e.id for e in third["page"].events] == ids[PAGE_SIZE * 2 :]
    assert third["older_query"] == ""

    back = client.get(f"{LIST}?{third['newer_query']}").context
    assert [e.id for e in back["page"].events] == ids[PAGE_SIZE : PAGE_SIZE * 2]
    assert back["older_query"] and back["newer_query"]


def test_event_list_paging_keeps_the_filters(client: Client, auditor: Any) -> None:
    _many(PAGE_SIZE + 3, actor="maya.chen")
    _many(3, actor="someone.else")
    context = _login(client, auditor).get(LIST, {"actor": "maya.chen"}).context
    assert context["older_query"].startswith("actor=maya.chen&before=")
    older = client.get(f"{LIST}?{context['older_query']}").context["page"].events
    assert len(older) == 3 and {e.actor for e in older} == {"maya.chen"}


def test_event_list_query_count_is_constant(
    client: Client, auditor: Any, django_assert_num_queries: Any
) -> None:
    _login(client, auditor)
    _many(3)
    client.get(LIST)  # warm caches (content types, the session)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST, {"action": "request.*"})
    _many(PAGE_SIZE * 3)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[10]
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(LIST, {"action": "request.*"})
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(LIST, {"action": "request.*", "before": str(before)})
    audit_queries = [q["sql"] for q in few.captured_queries if "audit_auditevent" in q["sql"]]
    assert len(audit_queries) == 1  # one keyset query, no COUNT(*) of the trail
    assert "COUNT(" not in audit_queries[0].upper() and "LIMIT 51" in audit_queries[0]


def _access_request_approved() -> AccessRequest:
    """maya asks for Engineering - Backend and priya approves it, through the services that
    write the trail in the portal (real action names, an Okta operation queued)."""
    ensure_default_policies()
    people = Cast()
    item = item_make(owners=[people.omar.id])
    req = submit(people, item)  # type: ignore[arg-type]
    access_request_decide(actor=people.u["priya"], request_id=req.pk, outcome="APPROVE")
    return req


def test_event_list_action_hint_finds_events(client: Client, auditor: Any) -> None:
    _access_request_approved()
    page = _body(_login(client, auditor).get(LIST))
    hint = re.search(r'<input[^>]*name="action"[^>]*placeholder="([^"]+)"', page)
    assert hint and hint.group(1).endswith("*")
    assert f"Exact, or a prefix ending in * ({hint.group(1)})" in page
    events = client.get(LIST, {"action": hint.group(1)}).context["page"].events
    actions = {event.action for event in events}
    assert "access_request.submitted" in actions
    assert all(action.startswith(hint.group(1).rstrip("*")) for action in actions)


def test_event_list_shows_okta_targets_by_the_name_recorded_then(
    client: Client, auditor: Any
) -> None:
    req = _access_request_approved()
    OktaGroup.objects.filter(pk=req.item.group_id).update(name="Renamed since")  # type: ignore[union-attr]
    unnamed = audit_record(
        action="okta.operation.succeeded", target_type="group", target_id="00gold0000001"
    )
    page = _body(_login(client, auditor).get(LIST))

    def row(event: AuditEvent) -> str:
        return page[page.index(f'id="event-{event.pk}"') :].split("</tr>")[0]

    queued = AuditEvent.objects.get(action="okta.operation.queued")
    assert "Engineering - Backend · Maya Chen" in row(queued)
    assert str(req.item.group_id) not in row(queued)  # type: ignore[union-attr]
    assert "00gold0000001" in row(unnamed)  # written without a name (not mirrored): the id


def test_event_list_htmx_returns_the_results_fragment(client: Client, auditor: Any) -> None:
    audit_record(action="request.submitted", actor="maya.chen")
    audit_record(action="request.decided", actor="priya.patel")
    response = _login(client, auditor).get(
        LIST, {"actor": "priya.patel"}, headers={"HX-Request": "true"}
    )
    body = _body(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="audit-results">')
    assert "<html" not in body and "<form" not in body
    assert "priya.patel" in body and "maya.chen" not in body
    assert "actor=priya.patel" in body  # the export links follow the filters


def test_event_list_page_links_keep_href_for_no_js(client: Client, auditor: Any) -> None:
    _many(PAGE_SIZE + 1)
    body = _body(_login(client, auditor).get(LIST))
    assert 'data-testid="older" href="?before=' in body


def test_nav_shows_audit_link_only_with_permission(
    client: Client, auditor: Any, stranger: Any
) -> None:
    assert 'href="/audit/"' in _body(_login(client, auditor).get(LIST))
    stranger_client = Client()
    stranger_client.force_login(stranger)
    home = stranger_client.get("/")
    assert home.status_code == 200
    assert 'href="/audit/"' not in _body(home)


# --- one event --------------------------------------------------------------------------------


def test_event_detail_shows_fields_and_hash_check(client: Client, auditor: Any) -> None:
    event = audit_record(
        action="operation.failed",
        actor="system",
        target_type="operation",
        target_id="7",
        outcome="failure",
        detail={"errorCode": "E0000006", "errorSummary": "You do not have permission"},
    )
    response = _login(client, auditor).get(reverse("audit:detail", args=[event.pk]))
    body = _body(response)
    assert response.status_code == 200
    assert "E0000006" in body and event.hash in body
    assert "matches the contents" in body
    assert '<span aria-hidden="true">✖</span> failure</span>' in body


def test_event_detail_altered_event_says_so(client: Client, auditor: Any) -> None:
    event = audit_record(action="request.decided", outcome="denied")
    guards.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {guards.TABLE} SET outcome = 'success' WHERE id = %s", [event.pk])
    guards.install(connection)
    body = _body(_login(client, auditor).get(reverse("audit:detail", args=[event.pk])))
    assert "does not match the contents" in body


def test_event_detail_stranger_is_forbidden(client: Client, stranger: Any) -> None:
    event = audit_record(action="request.submitted")
    response = _login(client, stranger).get(reverse("audit:detail", args=[event.pk]))
    assert response.status_code == 403


def test_event_detail_missing_event_is_404(client: Client, auditor: Any) -> None:
    response = _login(client, auditor).get(reverse("audit:detail", args=[999999]))
    assert response.status_code == 404


# --- export -----------------------------------------------------------------------------------


def test_event_export_csv_has_header_and_filtered_rows(client: Client, auditor: Any) -> None:
    audit_record(action="request.submitted", actor="maya.chen", target_label="Backend")
    audit_record(action="request.decided", actor="priya.patel", detail={"comment": "ok"})
    response = _login(client, auditor).get(
        reverse("audit:export", args=["csv"]), {"action": "request.*", "actor": "priya.patel"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(_body(response))))
    assert rows[0][:4] == ["id", "occurred_at", "action", "actor"]
    assert rows[0][-2:] == ["prev_hash", "hash"]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["actor"] == "priya.patel"
    assert json.loads(record["detail"]) == {"comment": "ok"}


def test_event_export_csv_cells_cannot_run_formulas(client: Client, auditor: Any) -> None:
    audit_record(
        action="catalog.item_updated",
        actor="=cmd|' /C calc'!A0",
        target_label="+SUM(A1:A9)",
        target_id="-1",
        detail={"note": "@x"},
    )
    body = _body(_login(client, auditor).get(reverse("audit:export", args=["csv"])))
    record = dict(zip(*list(csv.reader(io.StringIO(body)))[:2], strict=True))
    assert record["actor"] == "'=cmd|' /C calc'!A0"
    assert record["target_label"] == "'+SUM(A1:A9)"
    assert record["target_id"] == "'-1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in record.values())


def test_csv_safe_prefixes_only_dangerous_cells() -> None:
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("@SUM") == "'@SUM"
    assert csv_safe("\tx") == "'\tx"
    assert csv_safe("maya.chen") == "maya.chen"
    assert csv_safe(42) == 42


def test_event_export_jsonl_lines_parse(client: Client, auditor: Any) -> None:
    events = [
        audit_record(action="request.submitted", detail={"reason": "on-call"}),
        audit_record(action="request.decided", detail={"decision": "approved"}),
    ]
    response = _login(client, auditor).get(
        reverse("audit:export", args=["jsonl"]), {"action": "request.*"}
    )
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in _body(response).splitlines()]
    assert [line["id"] for line in lines] == [e.pk for e in events]
    assert lines[1]["detail"] == {"decision": "approved"}
    assert lines[1]["prev_hash"] == lines[0]["hash"]


def test_event_export_is_itself_audited(client: Client, auditor: Any) -> None:
    _login(client, auditor).get(reverse("audit:export", args=["jsonl"]), {"outcome": "failure"})
    event = AuditEvent.objects.get(action="audit.exported")
    assert event.actor == "tessa.nguyen@acme.com"
    assert event.detail == {"format": "jsonl", "filters": {"outcome": "failure"}}


def test_event_export_without_export_permission_is_forbidden(client: Client, viewer: Any) -> None:
    response = _login(client, viewer).get(reverse("audit:export", args=["csv"]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_event_export_stranger_is_forbidden(client: Client, stranger: Any) -> None:
    response = _login(client, stranger).get(reverse("audit:export", args=["jsonl"]))
    assert response.status_code == 403


def test_event_export_unknown_format_or_bad_filter_is_400(client: Client, auditor: Any) -> None:
    _login(client, auditor)
    assert client.get(reverse("audit:export", args=["xlsx"])).status_code == 400
    bad = client.get(reverse("audit:export", args=["csv"]), {"date_from": "yesterday"})
    assert bad.status_code == 400
    assert b"Bad filter" in bad.content


# --- verification -----------------------------------------------------------------------------


def test_verify_htmx_shows_an_intact_chain(client: Client, auditor: Any) -> None:
    _many(3)
    response = _login(client, auditor).post(reverse("audit:verify"), headers={"HX-Request": "true"})
    body = _body(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="audit-verification"')
    assert 'data-status="passed"' in body and "3 events verified" in body
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.actor == "tessa.nguyen@acme.com" and event.outcome == "success"


def test_verify_broken_chain_points_at_the_event(client: Client, auditor: Any) -> None:
    _many(4)
    target = AuditEvent.objects.order_by("id")[1]
    guards.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {guards.TABLE} SET actor = 'mallory' WHERE id = %s", [target.pk])
    guards.install(connection)
    response = _login(client, auditor).post(reverse("audit:verify"))
    assert response.status_code == 302
    verification = AuditVerification.objects.get()
    assert verification.status == "broken" and verification.broken_id == target.pk
    body = _body(client.get(LIST))
    assert 'data-status="broken"' in body
    assert reverse("audit:detail", args=[target.pk]) in body
    assert AuditEvent.objects.get(action="audit.verified").outcome == "failure"


def test_verify_large_trail_runs_in_a_task_after_commit(
    client: Client,
    auditor: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    tasks_sent: TasksSent,
) -> None:
    settings.AUDIT_VERIFY_SYNC_LIMIT = 2
    _many(5)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _login(client, auditor).post(
            reverse("audit:verify"), headers={"HX-Request": "true"}
        )
    verification = AuditVerification.objects.get()
    assert verification.status == "pending"
    assert len(callbacks) == 1
    assert not tasks_sent  # nothing before commit
    callbacks[0]()
    assert tasks_sent.named("audit.verify_chain") == [[verification.pk]]
    body = _body(response)
    assert 'hx-trigger="every 2s"' in body and "Checking" in body
    # What the worker does with the id (the task itself is a one-line call of this):
    finished = verification_run(verification_id=verification.pk)
    assert finished is not None and finished.status == "passed" and finished.checked == 5
    assert verification_run(verification_id=verification.pk) is None  # a second run is a no-op
    poll = client.get(
        reverse("audit:verification", args=[verification.pk]), headers={"HX-Request": "true"}
    )
    assert 'data-status="passed"' in _body(poll)
    assert "every 2s" not in _body(poll)


def test_verify_stranger_is_forbidden(client: Client, stranger: Any) -> None:
    response = _login(client, stranger).post(reverse("audit:verify"))
    assert response.status_code == 403
    assert not AuditVerification.objects.exists()


def test_verify_requires_post(client: Client, auditor: Any) -> None:
    assert _login(client, auditor).get(reverse("audit:verify")).status_code == 405


def test_export_chunks_join_whole_lines() -> None:
    from audit.views import _in_chunks

    lines = [f"line {n}\n" for n in range(100)]
    chunks = list(_in_chunks(iter(lines), size=50))
    assert len(chunks) > 1
    assert all(chunk.endswith("\n") for chunk in chunks)
    assert "".join(chunks) == "".join(lines)


def test_event_list_htmx_history_restore_gets_the_whole_page(client: Client, auditor: Any) -> None:
    audit_record(action="request.submitted")
    response = _login(client, auditor).get(
        LIST, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in _body(response)


def test_verify_stale_unfinished_run_does_not_block_a_new_one(client: Client, auditor: Any) -> None:
    from django.utils import timezone

    from audit.models import STALE_VERIFICATION

    lost = AuditVerification.objects.create(
        requested_by="tessa.nguyen", requested_at=timezone.now() - STALE_VERIFICATION * 2
    )
    body = _body(_login(client, auditor).get(LIST))
    assert "No answer" in body and "every 2s" not in body
    assert "disabled" not in body.split('data-testid="verify-button"')[1].split(">")[0]
    assert not lost.is_active


def test_verification_status_stranger_is_forbidden(client: Client, stranger: Any) -> None:
    verification = AuditVerification.objects.create(requested_by="tessa.nguyen")
    response = _login(client, stranger).get(
        reverse("audit:verification", args=[verification.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 403


def test_verification_status_without_htmx_goes_to_the_list(client: Client, auditor: Any) -> None:
    verification = AuditVerification.objects.create(requested_by="tessa.nguyen")
    response = _login(client, auditor).get(reverse("audit:verification", args=[verification.pk]))
    assert response.status_code == 302 and response["Location"] == LIST


def test_event_list_htmx_pushes_a_clean_address(client: Client, auditor: Any) -> None:
    _login(client, auditor)
    query = {"actor": "priya.patel", "action": "", "outcome": "", "q": "", "before": "9"}
    response = client.get(LIST, query, headers={"HX-Request": "true"})
    assert response["HX-Push-Url"] == "/audit/?actor=priya.patel&before=9"
    empty = client.get(LIST, {"actor": ""}, headers={"HX-Request": "true"})
    assert empty["HX-Push-Url"] == "/audit/"


def test_event_export_streams_rows_instead_of_loading_them_in_the_view(
    client: Client, auditor: Any
) -> None:
    audit_record(action="request.submitted", target_id="early")
    response = _login(client, auditor).get(reverse("audit:export", args=["jsonl"]))
    assert response.streaming
    # Nothing was read yet: an event written now is still part of the download.
    audit_record(action="request.submitted", target_id="late")
    ids = [json.loads(line)["target_id"] for line in _body(response).splitlines()]
    assert ids[0] == "early" and ids[-1] == "late"
