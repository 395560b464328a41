"""The home page dashboard: what waits for the person, their requests, access ending soon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import CatalogItem, Grant, GrantStatus
from tests.approvals.conftest import People, client_for, group_make, item_make, join, submit

pytestmark = pytest.mark.django_db


def home(people: People, who: str) -> str:
    return client_for(people, who).get(reverse("home")).content.decode()


def test_home_manager_sees_request_waiting_for_decision(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    page = home(people, "priya")
    assert "Waiting for your decision" in page
    assert f'href="/requests/{req.pk}/"' in page
    assert 'data-testid="dash-waiting-count">1<' in page
    assert "Open your inbox" in page


def test_home_requester_sees_open_request_with_status_text(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    page = home(people, "maya")
    assert f'href="/requests/{req.pk}/"' in page
    assert "Pending approval" in page  # the status is words, not only a colour
    assert "Nothing waits for you" in page


def test_home_without_requests_says_what_to_do_next(people: People) -> None:
    page = home(people, "stan")
    assert "No open requests" in page
    assert 'href="/catalog/"' in page
    assert "Nothing of yours ends soon" in page


def test_home_lists_access_ending_soon_only(people: People, backend: CatalogItem) -> None:
    soon = submit(people, backend)
    readers = item_make("Data Warehouse Readers")
    later = submit(people, readers)
    now = timezone.now()
    Grant.objects.create(
        request=soon, item=backend, subject_id=people.maya.id, expires_at=now + timedelta(days=3)
    )
    Grant.objects.create(
        request=later,
        item=readers,
        subject_id=people.maya.id,
        expires_at=now + timedelta(days=60),
    )
    page = home(people, "maya")
    ending = page.split('id="dash-expiring-h"', 1)[1].split("</section>", 1)[0]
    assert "Engineering - Backend" in ending
    assert "Data Warehouse Readers" not in ending
    Grant.objects.update(status=GrantStatus.REVOKED)
    assert "Nothing of yours ends soon" in home(people, "maya")


def test_home_quick_links_follow_roles(people: People) -> None:
    assert 'href="/manage/catalog/"' not in home(people, "maya")
    admin_page = home(people, "ada")
    assert 'href="/manage/catalog/"' in admin_page
    assert "No failed requests" in admin_page


def test_home_marks_current_section_in_nav(people: People) -> None:
    page = home(people, "maya")
    assert 'href="/" aria-current="page">Home</a>' in page
    catalog = client_for(people, "maya").get(reverse("approvals:catalog")).content.decode()
    assert 'href="/catalog/" aria-current="page">Catalog</a>' in catalog
    assert 'href="/" aria-current="page"' not in catalog


def test_home_anonymous_redirects_to_login() -> None:
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_home_query_count_is_constant(people: People) -> None:
    def count(who: str) -> int:
        client = client_for(people, who)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return len(ctx.captured_queries)

    submit(people, item_make("First"))
    few_maya, few_priya = count("maya"), count("priya")
    for n in range(8):
        item = item_make(f"G{n}")
        join(people.maya, group_make(f"Member {n}"))
        req = submit(people, item)
        Grant.objects.create(
            request=req,
            item=item,
            subject_id=people.maya.id,
            expires_at=timezone.now() + timedelta(days=n + 1),
        )
    assert count("maya") == few_maya
    assert count("priya") == few_priya


def test_request_page_marks_inbox_for_approver_and_my_requests_for_requester(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    url = reverse("approvals:request_detail", args=[req.pk])
    approver_page = client_for(people, "priya").get(url).content.decode()
    assert 'href="/inbox/" aria-current="page"' in approver_page
    assert '<a href="/inbox/">Inbox</a></li>' in approver_page  # the breadcrumb
    requester_page = client_for(people, "maya").get(url).content.decode()
    assert 'href="/requests/" aria-current="page">My requests</a>' in requester_page
    assert 'href="/inbox/" aria-current="page"' not in requester_page
