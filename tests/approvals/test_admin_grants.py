"""Admins' list of active grants and "End now": filters, keyset pages at a constant query count,
the removal through the same operation path as expiry, the audit event, the holder's email, and
refusals that change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import AccessRequest, CatalogItem, Grant, GrantStatus, RequestStatus
from approvals.services.grants import grant_end
from approvals.services.outcomes import operation_finished
from audit.models import AuditEvent
from okta.models import OktaUser, Operation, OperationStatus
from tests.approvals.conftest import HTMX, People, client_for, item_make, person_make

pytestmark = pytest.mark.django_db


def grants_make(
    people: People, item: CatalogItem, subjects: list[OktaUser], days: int | None = 30
) -> list[Grant]:
    """Completed requests and their active grants, written in bulk."""
    now = timezone.now()
    requests = AccessRequest.objects.bulk_create(
        AccessRequest(
            item=item,
            requester=people.u["ada"],
            subject=s,
            subject_label=str(s),
            status=RequestStatus.COMPLETED,
            policy_name="Manager approval",
            pending_until=now,
        )
        for s in subjects
    )
    return Grant.objects.bulk_create(
        Grant(
            request=r,
            item=item,
            subject_id=r.subject_id,  # type: ignore[misc]
            expires_at=now + timedelta(days=days) if days else None,
        )
        for r in requests
    )


def end_url(grant: Grant) -> str:
    return reverse("approvals:admin_grant_end", args=[grant.pk])


def row_ids(html: str) -> set[str]:
    return set(re.findall(r'<tr id="grant-(\d+)"', html))


# --- the list ---------------------------------------------------------------------------------


def test_admin_grants_lists_active_grants_and_filters_them(
    people: People, backend: CatalogItem
) -> None:
    wiki = item_make("Wiki")
    (maya_backend,) = grants_make(people, backend, [people.maya], days=3)
    (maya_wiki,) = grants_make(people, wiki, [people.maya], days=None)
    (omar_backend,) = grants_make(people, backend, [people.omar], days=60)
    (ended,) = grants_make(people, wiki, [people.omar])
    Grant.objects.filter(pk=ended.pk).update(status=GrantStatus.REVOKED)
    client = client_for(people, "ada")
    url = reverse("approvals:admin_grants")

    page = client.get(url).content.decode()
    assert row_ids(page) == {str(g.pk) for g in (maya_backend, maya_wiki, omar_backend)}
    assert "Permanent" in page and "ends within 7 days" in page
    assert reverse("approvals:request_detail", args=[maya_backend.request_id]) in page
    assert 'for="grants-q"' in page and 'for="grants-item"' in page and 'for="grants-ends"' in page

    def shown(**query: Any) -> set[str]:
        return row_ids(client.get(url, query).content.decode())

    assert shown(item="BACKEND") == {str(maya_backend.pk), str(omar_backend.pk)}
    assert shown(item="end") == {str(maya_backend.pk), str(omar_backend.pk)}  # any part
    assert shown(q="maya") == {str(maya_backend.pk), str(maya_wiki.pk)}
    assert shown(q="MAYA chen", item="wiki") == {str(maya_wiki.pk)}
    assert shown(item="100%_") == set()  # LIKE's wildcards are plain text
    assert shown(ends="week") == {str(maya_backend.pk)}
    assert shown(ends="never") == {str(maya_wiki.pk)}
    assert shown(q="nobody") == set()
    assert shown(q="maya", item="x" * 101, before="x") == {
        str(maya_backend.pk),
        str(maya_wiki.pk),
    }
    assert (
        "No active grant matches these filters" in client.get(url, {"q": "nobody"}).content.decode()
    )


def test_admin_grants_filter_htmx_returns_the_results_fragment(
    people: People, backend: CatalogItem
) -> None:
    grants_make(people, backend, [people.maya, people.omar])
    body = (
        client_for(people, "ada")
        .get(reverse("approvals:admin_grants"), {"q": "omar"}, headers=HTMX)
        .content.decode()
    )
    assert body.lstrip().startswith('<div id="results"')
    assert "<html" not in body and "Omar Haddad" in body and "Maya Chen" not in body


def test_admin_grants_pages_cost_the_same_queries_at_any_size(
    people: People, backend: CatalogItem
) -> None:
    client = client_for(people, "ada")
    url = reverse("approvals:admin_grants")

    def queries(**query: Any) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, query)
            assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    grants_make(people, backend, [people.maya])
    small, _ = queries()
    many = [person_make(f"p{i}.person@acme.com") for i in range(60)]
    grants_make(people, backend, many)
    first, page = queries()
    assert first == small
    assert len(row_ids(page)) == 25 and "Next page" in page
    oldest_shown = min(int(i) for i in row_ids(page))
    deeper, page2 = queries(before=oldest_shown)
    assert deeper == small
    assert max(int(i) for i in row_ids(page2)) < oldest_shown
    filtered, _ = queries(item="backend", q="person", ends="week")
    assert filtered == small


def test_admin_grants_refuses_everyone_but_admins(people: People, backend: CatalogItem) -> None:
    (grant,) = grants_make(people, backend, [people.maya])
    for who in ("maya", "priya", "stan"):
        client = client_for(people, who)
        assert client.get(reverse("approvals:admin_grants")).status_code == 404
        assert client.get(end_url(grant)).status_code == 404
        assert client.post(end_url(grant), {"reason": "mine now"}).status_code == 404
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert not Operation.objects.exists()
    with pytest.raises(Http404):
        grant_end(actor=people.u["priya"], grant_id=grant.pk, reason="x")


# --- ending a grant --------------------------------------------------------------------------


def test_end_now_removes_through_an_operation_audits_and_emails_the_reason(
    people: People,
    backend: CatalogItem,
    mail_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    (grant,) = grants_make(people, backend, [people.maya])
    client = client_for(people, "ada")

    form = client.get(end_url(grant), headers=HTMX).content.decode()
    assert form.lstrip().startswith(f'<tr id="grant-{grant.pk}"')
    assert f'<label class="form-label" for="end-reason-{grant.pk}">' in form
    assert "data-focus-after-swap" in form

    row = client.post(end_url(grant), {"reason": "left the backend team"}, headers=HTMX)
    html = row.content.decode()
    assert row.status_code == 200 and html.lstrip().startswith(f'<tr id="grant-{grant.pk}"')
    assert 'role="status"' in html and "Being removed" in html
    grant.refresh_from_db()
    assert (grant.status, grant.revoke_reason) == (GrantStatus.REVOKING, "ended_by_admin")
    op = Operation.objects.get(correlation=f"grant:{grant.pk}")
    assert (op.kind, op.params["user_id"], op.actor) == (
        "group.member.remove",
        people.maya.id,
        people.u["ada"].username,
    )
    event = AuditEvent.objects.get(action="grant.revoke_started", target_id=str(grant.pk))
    assert event.actor == people.u["ada"].username
    assert event.detail["note"] == "left the backend team"
    assert event.detail["reason"] == "ended_by_admin"
    assert "left the backend team" in grant.request.events.get(kind="revoking").text

    op.status, op.finished_at = OperationStatus.SUCCEEDED, timezone.now()
    op.save()
    with django_capture_on_commit_callbacks(execute=True):
        operation_finished(operation_id=op.pk)
    mail_tasks.run()
    (message,) = mail.outbox
    assert message.to == [people.maya.email] and "has ended" in message.subject
    assert "a Gatehouse admin ended it" in message.body
    assert "Reason given: left the backend team" in message.body


def test_end_now_without_javascript_confirms_then_redirects(
    people: People, backend: CatalogItem
) -> None:
    (grant,) = grants_make(people, backend, [people.maya])
    client = client_for(people, "ada")
    page = client.get(end_url(grant)).content.decode()
    assert "End Engineering - Backend for Maya Chen" in page and 'for="end-reason"' in page
    response = client.post(end_url(grant), {"reason": "contract ended"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("approvals:admin_grants")
    assert "Ending Engineering - Backend for Maya Chen" in response.content.decode()
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.REVOKING


def test_end_now_with_empty_reason_is_a_form_error_and_changes_nothing(
    people: People, backend: CatalogItem
) -> None:
    (grant,) = grants_make(people, backend, [people.maya])
    client = client_for(people, "ada")
    before = AuditEvent.objects.count()
    page = client.post(end_url(grant), {"reason": "   "})
    assert page.status_code == 422
    assert "Say why this access ends" in page.content.decode()
    row = client.post(end_url(grant), {}, headers=HTMX).content.decode()
    assert 'aria-invalid="true"' in row and "Say why this access ends" in row
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.ACTIVE
    assert not Operation.objects.exists()
    assert AuditEvent.objects.count() == before


def test_end_now_of_a_grant_already_ending_says_so_and_queues_nothing_more(
    people: People, backend: CatalogItem
) -> None:
    revoking, revoked = grants_make(people, backend, [people.maya, people.omar])
    client = client_for(people, "ada")
    client.post(end_url(revoking), {"reason": "first"})
    Grant.objects.filter(pk=revoked.pk).update(status=GrantStatus.REVOKED)
    events = AuditEvent.objects.count()

    row = client.post(end_url(revoking), {"reason": "again"}, headers=HTMX).content.decode()
    assert 'role="alert"' in row and "already removing this access" in row
    page = client.post(end_url(revoked), {"reason": "again"}, follow=True).content.decode()
    assert "This access has already been removed." in page
    assert "already removing" in client.get(end_url(revoking), headers=HTMX).content.decode()
    assert Operation.objects.filter(correlation=f"grant:{revoking.pk}").count() == 1
    assert not Operation.objects.filter(correlation=f"grant:{revoked.pk}").exists()
    assert AuditEvent.objects.count() == events


def test_end_now_of_an_unknown_grant_is_404(people: People) -> None:
    client = client_for(people, "ada")
    assert (
        client.post(
            reverse("approvals:admin_grant_end", args=[999999]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("approvals:admin_grant_end", args=[999999])).status_code == 404
