"""Pages: happy path, stranger, HTMX fragment and query counts for each view."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from approvals.models import (
    AccessRequest,
    CatalogItem,
    Decision,
    ItemKind,
    Policy,
    RequestStatus,
)
from approvals.services.decisions import access_request_decide
from approvals.services.grants import access_relinquish
from approvals.services.outcomes import operation_finished
from approvals.services.requests import access_request_cancel
from okta.models import AppAssignment, GroupType, Operation
from tests.approvals.conftest import HTMX, People, client_for, group_make, item_make, join, submit

pytestmark = pytest.mark.django_db

# --- catalog ------------------------------------------------------------------------------------


def test_catalog_shows_held_pending_and_approvers(people: People, backend: CatalogItem) -> None:
    held = item_make("Wiki")
    join(people.maya, held.group)  # type: ignore[arg-type]
    held_app = item_make("Notion", kind=ItemKind.APP)
    AppAssignment.objects.create(app_id=str(held_app.app_id), user=people.maya, scope="USER")
    other_app = item_make("Figma", kind=ItemKind.APP)
    AppAssignment.objects.create(app_id=str(other_app.app_id), user=people.omar, scope="USER")
    payroll = item_make("Payroll", policy="Manager then owners")
    pending = submit(people, payroll)
    submit(people, backend, who="omar")  # someone else's open request is not maya's
    item_make("Hidden", published=False)
    page = client_for(people, "maya").get(reverse("approvals:catalog")).content.decode()
    assert "Engineering - Backend" in page and "Hidden" not in page
    assert "your manager (Priya Patel)" in page
    for item in (held, held_app):
        assert 'data-testid="held"' in _catalog_row(page, item)
    for item in (other_app, backend):
        assert 'data-testid="held"' not in _catalog_row(page, item)
        assert "Request access" in _catalog_row(page, item)
    assert f"Request #{pending.pk} open" in _catalog_row(page, payroll)
    assert f'href="{reverse("approvals:request_new", args=[backend.pk])}"' in page


def _catalog_row(page: str, item: CatalogItem) -> str:
    """One item's row of the catalog page."""
    start = page.index(f'id="item-{item.pk}"')
    end = page.find("</li>", start)
    return page[start:end]


def test_catalog_search_htmx_returns_results_fragment(people: People, backend: CatalogItem) -> None:
    item_make("Finance reports")
    response = client_for(people, "maya").get(
        reverse("approvals:catalog"), {"q": "backend"}, headers=HTMX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results"')
    assert "Engineering - Backend" in body and "Finance reports" not in body
    assert "<html" not in body


def test_waiting_count_is_asked_only_by_pages_that_show_the_navigation(
    people: People, backend: CatalogItem
) -> None:
    submit(people, backend)
    client = client_for(people, "priya")

    def counts(**headers: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(reverse("approvals:catalog"), {"q": "back"}, headers=headers)
            assert body.status_code == 200
        return sum("approvals_requestapprover" in q["sql"] for q in ctx.captured_queries)

    assert counts() == 1  # the nav badge
    assert counts(**HTMX) == 0  # the results as one types: no navigation, no count


def test_catalog_filters_by_kind_and_department(people: People, backend: CatalogItem) -> None:
    item_make("Salesforce", kind="APP", department="Sales")
    client = client_for(people, "maya")
    by_kind = client.get(reverse("approvals:catalog"), {"kind": "APP"}).content.decode()
    assert "Salesforce" in by_kind and "Engineering - Backend" not in by_kind
    by_dept = client.get(reverse("approvals:catalog"), {"department": "Sales"}).content.decode()
    assert "Salesforce" in by_dept and "Engineering - Backend" not in by_dept


def test_catalog_query_count_is_constant(people: People) -> None:
    client = client_for(people, "maya")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("approvals:catalog")).status_code == 200
        return len(ctx.captured_queries)

    item_make("One", owners=[people.otto.id])
    few = count()
    for n in range(12):
        item = item_make(f"Group {n}", owners=[people.otto.id, people.olive.id])
        if n % 3 == 0:
            join(people.maya, item.group)  # type: ignore[arg-type]
        if n % 3 == 1:
            submit(people, item)
    assert count() == few


def test_catalog_pages_count_only_when_the_first_page_is_full(people: People) -> None:
    from approvals.views import PAGE_SIZE

    for n in range(PAGE_SIZE + 1):
        item_make(f"Item {n:02}")
    client = client_for(people, "maya")

    def page(**query: str) -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(reverse("approvals:catalog"), query).content.decode()
        return body, [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]

    # A search whose matches fit on the first page is counted from its rows.
    found, counts = page(q="Item 07")
    assert "1 item found" in found and "Catalog pages" not in found
    assert not any("approvals_catalogitem" in sql for sql in counts)
    # A full first page asks for the count and offers the next page, which holds the rest.
    first, counts = page()
    assert f"{PAGE_SIZE + 1} items found" in first and "Page 1 of 2" in first
    assert any("approvals_catalogitem" in sql for sql in counts)
    second, _ = page(page="2")
    assert "Page 2 of 2" in second and f"Item {PAGE_SIZE:02}" in second
    assert "Item 00" not in second


def test_catalog_search_can_use_the_trigram_indexes(people: People) -> None:
    """The catalog's search SQL, as Django writes it, matches the indexes' expressions
    (approvals 0006): with sequential scans off PostgreSQL answers it from them."""
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    for n in range(30):
        item_make(f"Item {n:02}", description=f"Team {n} tools")
    search = CatalogItem.objects.search("am 2 to")  # the search alone, as the view writes it
    with CaptureQueriesContext(connection) as ctx:
        assert search.count() == 1  # "Team 2 tools"
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + ctx.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "approvals_item_name_trgm" in plan and "approvals_item_description_trgm" in plan


def test_catalog_needs_sign_in(people: People) -> None:
    response = Client().get(reverse("approvals:catalog"))
    assert response.status_code == 302 and "login" in response["Location"]


# --- requesting ---------------------------------------------------------------------------------


def test_request_form_happy_path(people: People, backend: CatalogItem) -> None:
    client = client_for(people, "maya")
    url = reverse("approvals:request_new", args=[backend.pk])
    assert "For how long" in client.get(url).content.decode()
    response = client.post(url, {"subject": people.maya.id, "duration": "30", "reason": "on-call"})
    req = AccessRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == req.get_absolute_url()
    assert (req.requester, req.duration_days) == (people.u["maya"], 30)


def test_request_form_htmx_error_returns_form_fragment(
    people: People, backend: CatalogItem
) -> None:
    response = client_for(people, "maya").post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"subject": people.maya.id, "duration": "30", "reason": ""},
        headers=HTMX,
    )
    body = response.content.decode()
    assert body.lstrip().startswith("<form")
    assert 'aria-invalid="true"' in body
    assert not AccessRequest.objects.exists()


def test_request_form_htmx_success_redirects(people: People, backend: CatalogItem) -> None:
    response = client_for(people, "maya").post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"subject": people.maya.id, "duration": "30", "reason": "on-call"},
        headers=HTMX,
    )
    assert response["HX-Redirect"] == AccessRequest.objects.get().get_absolute_url()


def test_request_duration_over_max_gets_clear_message(people: People, backend: CatalogItem) -> None:
    backend.max_duration_days = 7
    backend.default_duration_days = 7
    backend.save()
    response = client_for(people, "maya").post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"subject": people.maya.id, "duration": "30", "reason": "x"},
    )
    assert response.status_code == 422
    assert "30 is not one of the available choices" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_request_duplicate_says_so_plainly(people: People, backend: CatalogItem) -> None:
    first = submit(people, backend)
    response = client_for(people, "maya").post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"subject": people.maya.id, "duration": "30", "reason": "again"},
    )
    assert response.status_code == 422
    assert f"already an open request #{first.pk}" in response.content.decode()


def test_request_forged_or_unpublished_item_is_404(people: People) -> None:
    hidden = item_make("Hidden", published=False)
    client = client_for(people, "maya")
    assert client.get(reverse("approvals:request_new", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("approvals:request_new", args=[987654])).status_code == 404


def test_request_for_someone_else_forged_subject_refused(
    people: People, backend: CatalogItem
) -> None:
    response = client_for(people, "stan").post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"subject": people.maya.id, "duration": "30", "reason": "x"},
    )
    assert response.status_code == 422 and not AccessRequest.objects.exists()


def test_manager_sees_reports_in_subject_choice(people: People, backend: CatalogItem) -> None:
    page = client_for(people, "priya").get(reverse("approvals:request_new", args=[backend.pk]))
    assert "Maya Chen (your report)" in page.content.decode()


# --- request detail -------------------------------------------------------------------------------


def test_request_detail_visible_to_requester_and_approver(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    mine = client_for(people, "maya").get(req.get_absolute_url()).content.decode()
    assert "Timeline" in mine and "Cancel this request" in mine
    assert 'data-testid="waiting-on">Priya Patel<' in mine
    theirs = client_for(people, "priya").get(req.get_absolute_url()).content.decode()
    assert "Approve" in theirs and "Cancel this request" not in theirs


def test_request_detail_stranger_gets_404(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    client = client_for(people, "stan")
    assert client.get(req.get_absolute_url()).status_code == 404
    assert client.get(reverse("approvals:request_detail", args=[999999])).status_code == 404
    assert client.post(reverse("approvals:request_cancel", args=[req.pk])).status_code == 404
    assert AccessRequest.objects.get().status == RequestStatus.PENDING


def test_request_detail_htmx_returns_status_fragment(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    body = client_for(people, "maya").get(req.get_absolute_url(), headers=HTMX).content.decode()
    assert body.lstrip().startswith(f'<div id="request-{req.pk}-status"')


def test_request_detail_shows_okta_failure_message(people: People, backend: CatalogItem) -> None:
    req = access_request_decide(
        actor=people.u["priya"], request_id=submit(people, backend).pk, outcome="APPROVE"
    )
    Operation.objects.filter(correlation=req.correlation).update(
        status="FAILED", error_code="E0000006", error_summary="Forbidden by Okta", okta_status=403
    )
    operation_finished(operation_id=Operation.objects.get().pk)
    page = client_for(people, "maya").get(req.get_absolute_url()).content.decode()
    assert "Forbidden by Okta" in page and "Retry in Okta" not in page
    admin_page = client_for(people, "ada").get(req.get_absolute_url()).content.decode()
    assert "Retry in Okta" in admin_page


def test_cancel_own_request(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    response = client_for(people, "maya").post(reverse("approvals:request_cancel", args=[req.pk]))
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED


# --- inbox ---------------------------------------------------------------------------------------


def test_inbox_lists_waiting_requests_with_risk_and_current_access(
    people: People, backend: CatalogItem
) -> None:
    join(people.maya, group_make("All staff"))
    join(people.maya, group_make("Support rota"))
    req = submit(people, backend)
    page = client_for(people, "priya").get(reverse("approvals:inbox")).content.decode()
    assert f'id="inbox-row-{req.pk}"' in page
    assert "Risk: Medium" in page
    # What maya holds is summed up in the row and listed when the approver opens it.
    access_url = reverse("approvals:request_subject_access", args=[req.pk])
    assert "has 2 groups and 0 apps" in page and f'hx-get="{access_url}"' in page
    assert 'data-testid="inbox-count">1' in page  # the nav badge
    assert (
        "Nothing waits for you"
        in client_for(people, "stan").get(reverse("approvals:inbox")).content.decode()
    )


def test_waiting_count_is_the_inbox_queue_and_stops_at_its_limit(people: People) -> None:
    from approvals.queries import waiting_count

    two_stage = [
        submit(
            people, item_make(f"Item {n}", policy="Manager then owners", owners=[people.otto.id])
        )
        for n in range(4)
    ]
    submit(people, item_make("Other", policy="Approver group", approver_group=people.approvers))
    access_request_decide(actor=people.u["priya"], request_id=two_stage[0].pk, outcome="APPROVE")
    access_request_cancel(actor=people.u["maya"], request_id=two_stage[1].pk)
    # priya: the two still at her stage; otto: the one priya passed on; omar: the group's one.
    for who, expected in (("priya", 2), ("otto", 1), ("omar", 1), ("stan", 0)):
        assert waiting_count(people.u[who]) == expected, who
        assert AccessRequest.objects.decidable_by(people.u[who]).count() == expected, who
    assert waiting_count(people.u["priya"], at_most=1) == 1
    assert waiting_count(User(username="nobody")) == 0  # no Okta id


def test_nav_badge_and_inbox_stop_counting_at_their_limits(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("approvals.inbox.BADGE_LIMIT", 3)
    for n in range(4):
        submit(people, item_make(f"Item {n}"))
    client = client_for(people, "priya")
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="inbox-count">2+<' in home
    inbox = client.get(reverse("approvals:inbox")).content.decode()
    assert "4 requests waiting" in inbox and 'data-testid="inbox-count">2+<' in inbox
    # Past its own limit, the inbox says how many at least.
    monkeypatch.setattr("approvals.views.INBOX_LIMIT", 4)
    inbox = client.get(reverse("approvals:inbox")).content.decode()
    assert "4 or more requests waiting" in inbox


def test_subject_access_lists_the_subjects_groups_for_the_approver(
    people: People, backend: CatalogItem
) -> None:
    join(people.maya, group_make("All staff"))
    join(people.maya, group_make("Support rota"))
    req = submit(people, backend)
    url = reverse("approvals:request_subject_access", args=[req.pk])
    fragment = client_for(people, "priya").get(url, headers=HTMX).content.decode()
    assert fragment.lstrip().startswith("<p") and "<html" not in fragment
    assert "Groups: All staff, Support rota" in fragment and "Apps: none" in fragment
    page = client_for(people, "priya").get(url).content.decode()
    assert "<html" in page and "All staff" in page


def test_subject_access_is_404_for_someone_not_deciding(
    people: People, backend: CatalogItem
) -> None:
    join(people.maya, group_make("All staff"))
    req = submit(people, backend)
    url = reverse("approvals:request_subject_access", args=[req.pk])
    response = client_for(people, "stan").get(url)
    assert response.status_code == 404 and "All staff" not in response.content.decode()


def test_inbox_pages_by_keyset_oldest_first(people: People) -> None:
    from approvals.views import INBOX_SIZE

    reqs = [submit(people, item_make(f"Item {n:02}")) for n in range(INBOX_SIZE + 2)]
    client = client_for(people, "priya")
    first = client.get(reverse("approvals:inbox")).content.decode()
    assert f"{INBOX_SIZE + 2} requests waiting, oldest first" in first
    assert f'id="inbox-row-{reqs[INBOX_SIZE - 1].pk}"' in first
    assert f'id="inbox-row-{reqs[INBOX_SIZE].pk}"' not in first
    more = f"?after={reqs[INBOX_SIZE - 1].pk}"
    assert more in first
    # HTMX appends the next rows in place of the "more" link and focuses the first of them.
    fragment = client.get(reverse("approvals:inbox") + more, headers=HTMX).content.decode()
    assert fragment.lstrip().startswith(
        f'<li class="card mb-3" id="inbox-row-{reqs[INBOX_SIZE].pk}"'
    )
    assert f'id="inbox-row-{reqs[INBOX_SIZE + 1].pk}"' in fragment
    assert f'id="inbox-row-{reqs[0].pk}"' not in fragment
    assert "autofocus" in fragment and "inbox-more" not in fragment and "<html" not in fragment
    # Without HTMX the link opens the next page as a whole page.
    page = client.get(reverse("approvals:inbox") + more).content.decode()
    assert "<html" in page and f'id="inbox-row-{reqs[INBOX_SIZE].pk}"' in page


def test_inbox_ignores_a_malformed_cursor(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    response = client_for(people, "priya").get(reverse("approvals:inbox"), {"after": "1; drop"})
    assert response.status_code == 200 and f'id="inbox-row-{req.pk}"' in response.content.decode()


def test_inbox_query_count_is_constant(people: People) -> None:
    client = client_for(people, "priya")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("approvals:inbox")).status_code == 200
        return len(ctx.captured_queries)

    submit(people, item_make("First"))
    few = count()
    for n in range(10):
        item = item_make(f"G{n}")
        join(people.maya, group_make(f"Member {n}"))
        submit(people, item)
    assert count() == few


def test_inbox_htmx_decide_swaps_the_row_and_the_counts(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    submit(people, item_make("Payroll"))
    response = client_for(people, "priya").post(
        reverse("approvals:request_decide", args=[req.pk]),
        {"outcome": "APPROVE", "comment": "fine"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="card mb-3" id="inbox-row-{req.pk}"')
    assert "decision recorded" in body and "autofocus" in body
    # The page's count and the nav badge come in the same answer, swapped out of band.
    assert (
        '<p id="inbox-total" data-testid="inbox-total" hx-swap-oob="true">1 request waiting' in body
    )
    assert 'id="inbox-badge"' in body and 'data-testid="inbox-count">1<' in body
    assert body.count('hx-swap-oob="true"') == 2
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


def test_inbox_approving_stage_one_says_who_decides_next(
    people: People, backend: CatalogItem
) -> None:
    backend.policy = Policy.objects.get(name="Manager then owners")
    backend.save()
    req = submit(people, backend)
    inbox = client_for(people, "priya").get(reverse("approvals:inbox")).content.decode()
    assert "Engineering - Backend for Maya Chen</a>" in inbox
    response = client_for(people, "priya").post(
        reverse("approvals:request_decide", args=[req.pk]), {"outcome": "APPROVE"}, headers=HTMX
    )
    body = response.content.decode()
    assert "Approved at stage 1 of 2; now waiting for the item&#x27;s owners (Otto Berg)." in body
    assert "Pending approval" not in body
    req.refresh_from_db()
    assert (req.status, req.current_stage) == (RequestStatus.PENDING, 2)
    # Without HTMX the same sentence comes as the page's message.
    page = client_for(people, "otto").post(
        reverse("approvals:request_decide", args=[req.pk]), {"outcome": "DENY"}, follow=True
    )
    assert (
        f"#{req.pk} Engineering - Backend for Maya Chen: Denied at stage 2 of 2; Maya Chen is "
        "told." in page.content.decode()
    )


def test_decide_non_pending_shows_message_and_changes_nothing(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    client = client_for(people, "priya")
    client.post(reverse("approvals:request_decide", args=[req.pk]), {"outcome": "DENY"})
    response = client.post(
        reverse("approvals:request_decide", args=[req.pk]), {"outcome": "APPROVE"}, headers=HTMX
    )
    assert "no longer pending" in response.content.decode()
    assert Decision.objects.count() == 1 and not Operation.objects.exists()


def test_decide_stranger_gets_404(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    response = client_for(people, "stan").post(
        reverse("approvals:request_decide", args=[req.pk]), {"outcome": "APPROVE"}
    )
    assert response.status_code == 404 and not Decision.objects.exists()


def test_inbox_bulk_approve(people: People, backend: CatalogItem) -> None:
    r1, r2 = submit(people, backend), submit(people, item_make("Other"))
    response = client_for(people, "priya").post(
        reverse("approvals:inbox_bulk"), {"ids": [r1.pk, r2.pk], "outcome": "APPROVE"}
    )
    assert response.status_code == 302
    assert set(AccessRequest.objects.values_list("status", flat=True)) == {"APPROVED"}
    assert Operation.objects.count() == 2


def test_inbox_bulk_with_someone_elses_ids_changes_nothing(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    client_for(people, "stan").post(
        reverse("approvals:inbox_bulk"), {"ids": [req.pk], "outcome": "APPROVE"}
    )
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


# --- my access -----------------------------------------------------------------------------------


def test_my_access_lists_groups_apps_and_pending(people: People, backend: CatalogItem) -> None:
    join(people.maya, group_make("All staff"))
    join(people.maya, group_make("Everyone", type=GroupType.BUILT_IN))
    submit(people, backend)
    page = client_for(people, "maya").get(reverse("approvals:my_access")).content.decode()
    assert "All staff" in page and "Engineering - Backend" in page
    assert 'Give up<span class="visually-hidden"> All staff' in page
    assert 'Give up<span class="visually-hidden"> Everyone' not in page  # BUILT_IN
    assert "maya.chen@acme.com" in page and "Priya Patel" in page  # her login and manager


def test_my_access_without_a_manager_says_so(people: People) -> None:
    page = client_for(people, "priya").get(reverse("approvals:my_access")).content.decode()
    assert "priya.patel@acme.com" in page
    assert '<dt class="col-5 col-sm-3">Manager</dt><dd class="col-7 col-sm-9">—</dd>' in page


def test_relinquish_someone_elses_membership_is_404(people: People) -> None:
    group = group_make("Stan only")
    join(people.stan, group)
    response = client_for(people, "maya").post(
        reverse("approvals:relinquish"), {"kind": "GROUP", "resource_id": group.id}
    )
    assert response.status_code == 404 and not Operation.objects.exists()


# --- admin ---------------------------------------------------------------------------------------


def test_admin_catalog_add_and_publish(people: People) -> None:
    group = group_make("Design")
    group_make("Salesforce users", type=GroupType.APP_GROUP)
    client = client_for(people, "ada")
    search = client.get(
        reverse("approvals:admin_catalog"), {"q": "s"}, headers=HTMX
    ).content.decode()
    assert search.lstrip().startswith('<div id="directory"')
    assert "Not requestable" in search
    response = client.post(
        reverse("approvals:admin_item_new") + f"?group={group.id}",
        {
            "name": "Design",
            "description": "Figma and friends",
            "owners": "otto.berg@acme.com",
            "approver_group": "Backend Approvers",
            "policy": "1",
            "risk": "LOW",
            "reason_required": "on",
            "default_duration_days": "30",
            "max_duration_days": "90",
        },
    )
    assert response.status_code == 302, response.content.decode()
    item = CatalogItem.objects.get()
    assert item.owners == [people.otto.id]
    assert item.approver_group == people.approvers
    client.post(reverse("approvals:admin_item_publish", args=[item.pk]), {"published": "1"})
    item.refresh_from_db()
    assert item.published


def test_admin_item_new_form_starts_empty_and_saves_as_shown(people: People) -> None:
    group = group_make("Design")
    client = client_for(people, "ada")
    url = reverse("approvals:admin_item_new") + f"?group={group.id}"
    page = client.get(url).content.decode()
    owners = re.search(r'<input[^>]*name="owners"[^>]*>', page)
    assert owners and "value=" not in owners.group(0), owners
    policy = re.search(r'<select[^>]*name="policy".*?</select>', page, re.S)
    assert policy and "selected" in policy.group(0)
    assert re.search(r'<option value="" selected>Choose who approves…</option>', policy.group(0))
    assert "Manager then owners (The person&#x27;s manager → The item&#x27;s owners)" in page
    form = {"name": "Design", "owners": "", "approver_group": "", "risk": "LOW"}
    refused = client.post(url, form)
    assert refused.status_code == 422
    assert "Choose the policy that decides who approves." in refused.content.decode()
    assert not CatalogItem.objects.exists()
    policy_id = Policy.objects.get(name="Manager approval").pk
    assert client.post(url, {**form, "policy": policy_id}).status_code == 302
    assert CatalogItem.objects.get().owners == []


def test_admin_item_under_approver_group_policy_needs_a_group(people: People) -> None:
    group = group_make("Design")
    client = client_for(people, "ada")
    url = reverse("approvals:admin_item_new") + f"?group={group.id}"
    form = {
        "name": "Design",
        "policy": Policy.objects.get(name="Approver group").pk,
        "risk": "LOW",
        "approver_group": "",
    }
    response = client.post(url, form)
    assert response.status_code == 422
    errors = re.search(
        r'id="id_approver_group_errors">(.*?)</div>', response.content.decode(), re.S
    )
    assert errors and "asks the item&#x27;s approver group to decide" in errors.group(1)
    assert not CatalogItem.objects.exists()
    assert client.post(url, {**form, "approver_group": "Backend Approvers"}).status_code == 302
    assert CatalogItem.objects.get().approver_group == people.approvers


def test_admin_publish_refuses_item_without_its_approver_group(people: People) -> None:
    item = item_make("Ops", policy="Approver group", published=False)
    client = client_for(people, "ada")
    response = client.post(
        reverse("approvals:admin_item_publish", args=[item.pk]), {"published": "1"}, follow=True
    )
    assert "Ops was not published. The policy “Approver group” asks" in response.content.decode()
    item.refresh_from_db()
    assert not item.published


def test_admin_pages_are_404_for_employees(people: People, backend: CatalogItem) -> None:
    client = client_for(people, "maya")
    for name, args in [
        ("approvals:admin_catalog", []),
        ("approvals:admin_policies", []),
        ("approvals:operations", []),
        ("approvals:admin_item_edit", [backend.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404
    assert (
        client.post(
            reverse("approvals:admin_item_publish", args=[backend.pk]), {"published": "0"}
        ).status_code
        == 404
    )
    backend.refresh_from_db()
    assert backend.published


def test_admin_policy_edit(people: People) -> None:
    client = client_for(people, "ada")
    response = client.post(
        reverse("approvals:admin_policy_new"),
        {
            "name": "Owners then admins",
            "description": "",
            "auto_approve_max_risk": "",
            "stage1_approvers": "OWNERS",
            "stage1_rule": "ANY",
            "stage2_approvers": "ADMINS",
            "stage2_rule": "ALL",
            "stage3_approvers": "",
            "stage3_rule": "ANY",
        },
    )
    assert response.status_code == 302
    from approvals.models import Policy

    policy = Policy.objects.get(name="Owners then admins")
    assert policy.stage_snapshot() == [
        {"approvers": "OWNERS", "rule": "ANY"},
        {"approvers": "ADMINS", "rule": "ALL"},
    ]
    assert "Owners then admins" in client.get(reverse("approvals:admin_policies")).content.decode()


def test_operations_queue_lists_request_operations(people: People, backend: CatalogItem) -> None:
    req = access_request_decide(
        actor=people.u["priya"], request_id=submit(people, backend).pk, outcome="APPROVE"
    )
    client = client_for(people, "ada")
    page = client.get(reverse("approvals:operations")).content.decode()
    assert f"#{req.pk} Engineering - Backend" in page
    fragment = client.get(reverse("approvals:operations"), {"status": "FAILED"}, headers=HTMX)
    body: Any = fragment.content.decode()
    assert body.lstrip().startswith('<div id="ops"') and "No operations." in body


def test_operations_queue_refreshes_itself_only_while_okta_is_being_asked(
    people: People, backend: CatalogItem
) -> None:
    req = access_request_decide(
        actor=people.u["priya"], request_id=submit(people, backend).pk, outcome="APPROVE"
    )
    op = Operation.objects.get(correlation=req.correlation)
    # A retried operation: pending again, still showing what Okta said last time.
    Operation.objects.filter(pk=op.pk).update(
        status="PENDING", okta_status=403, error_code="E0000006", error_summary="No permission"
    )
    client = client_for(people, "ada")
    pending = client.get(reverse("approvals:operations"), headers=HTMX).content.decode()
    assert 'hx-trigger="every 3s"' in pending
    assert 'hx-get="/manage/operations/"' in pending
    assert "Last answer:" in pending and "E0000006 No permission" in pending
    Operation.objects.filter(pk=op.pk).update(
        status="SUCCEEDED", okta_status=204, error_code="", error_summary=""
    )
    done = client.get(reverse("approvals:operations")).content.decode()
    assert "every 3s" not in done
    assert "Last answer:" not in done and "Succeeded" in done


def test_request_form_prefills_the_only_subject(people: People, backend: CatalogItem) -> None:
    page = client_for(people, "maya").get(reverse("approvals:request_new", args=[backend.pk]))
    assert f'type="hidden" name="subject" value="{people.maya.id}"' in page.content.decode()


def test_my_access_query_count_is_constant(people: People) -> None:
    client = client_for(people, "maya")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("approvals:my_access")).status_code == 200
        return len(ctx.captured_queries)

    join(people.maya, group_make("Start"))
    few = count()
    for n in range(8):
        join(people.maya, group_make(f"Team {n}"))
        submit(people, item_make(f"Item {n}"))
    assert count() == few


def test_decide_ignores_offsite_next(people: People, backend: CatalogItem) -> None:
    req = submit(people, backend)
    response = client_for(people, "priya").post(
        reverse("approvals:request_decide", args=[req.pk]),
        {"outcome": "APPROVE", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("approvals:inbox")


def test_operations_queue_retries_failed_removal(people: People, backend: CatalogItem) -> None:
    req = access_request_decide(
        actor=people.u["priya"], request_id=submit(people, backend).pk, outcome="APPROVE"
    )
    op = Operation.objects.get()
    Operation.objects.filter(pk=op.pk).update(status="SUCCEEDED")
    operation_finished(operation_id=op.pk)
    grant = req.grant
    access_relinquish(actor=people.u["maya"], kind="GROUP", resource_id=str(backend.group_id))
    removal = Operation.objects.get(correlation=f"grant:{grant.pk}")
    Operation.objects.filter(pk=removal.pk).update(status="FAILED", error_summary="Nope")
    operation_finished(operation_id=removal.pk)
    client = client_for(people, "ada")
    page = client.get(reverse("approvals:operations")).content.decode()
    assert "Retry removal" in page and "Nope" in page
    assert "(given up by the holder)" in page and "relinquished" not in page
    client.post(reverse("approvals:grant_retry", args=[grant.pk]))
    removal.refresh_from_db()
    assert removal.status == "PENDING"
    assert (
        client_for(people, "maya")
        .post(reverse("approvals:grant_retry", args=[grant.pk]))
        .status_code
        == 404
    )


def test_extend_prefills_a_new_request(people: People, backend: CatalogItem) -> None:
    req = access_request_decide(
        actor=people.u["priya"], request_id=submit(people, backend).pk, outcome="APPROVE"
    )
    Operation.objects.filter(correlation=req.correlation).update(status="SUCCEEDED")
    operation_finished(operation_id=Operation.objects.get().pk)
    join(people.maya, backend.group)  # type: ignore[arg-type]
    grant = req.grant
    client = client_for(people, "maya")
    response = client.get(reverse("approvals:grant_extend", args=[grant.pk]))
    assert response["Location"].endswith(f"?extend={grant.pk}")
    form = client.get(response["Location"]).content.decode()
    assert "Extend Engineering - Backend" in form and "on-call" in form
    client.post(
        reverse("approvals:request_new", args=[backend.pk]),
        {
            "subject": people.maya.id,
            "duration": "30",
            "reason": "still on-call",
            "extend": grant.pk,
        },
    )
    assert AccessRequest.objects.get(status="PENDING").extends_grant == grant
    assert (
        client_for(people, "stan")
        .get(reverse("approvals:grant_extend", args=[grant.pk]))
        .status_code
        == 404
    )
