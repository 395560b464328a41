"""Refusals and failures answer with the site's own pages: what happened, what to do, and the
way back, in the layout people know (the 500 page stands alone: it must render when nothing
else can)."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from approvals.models import AccessRequest, CatalogItem
from tests.approvals.conftest import People, backend, client_for, people, submit

__all__ = ["backend", "people"]  # the approvals test people, as fixtures here

pytestmark = pytest.mark.django_db


def test_someone_elses_request_is_a_404_page_with_the_way_back(
    people: People, backend: CatalogItem
) -> None:
    req = submit(people, backend)
    response = client_for(people, "stan").get(reverse("approvals:request_detail", args=[req.pk]))
    text = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-page"' in text and "not yours to see" in text
    assert 'aria-label="Main"' in text and reverse("approvals:my_requests") in text
    assert "Engineering - Backend" not in text  # nothing of the request shows
    assert AccessRequest.objects.get(pk=req.pk).status == "PENDING"


def test_a_page_beyond_ones_roles_is_a_403_page_naming_them(people: People) -> None:
    response = client_for(people, "maya").get(reverse("audit:list"))
    text = response.content.decode()
    assert response.status_code == 403
    assert "This page is not open to you" in text
    assert "Your Gatehouse roles (employee) do not include it" in text
    assert 'aria-label="Main"' in text


def test_a_form_without_its_csrf_token_is_refused_with_a_plain_explanation(
    people: People, backend: CatalogItem
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.u["maya"])
    response = client.post(
        reverse("approvals:request_new", args=[backend.pk]),
        {"reason": "on-call", "duration_days": 30},
    )
    text = response.content.decode()
    assert response.status_code == 403
    assert "That form could not be accepted" in text and "nothing was changed" in text
    assert not AccessRequest.objects.exists()


def test_the_500_page_renders_without_a_request_context() -> None:
    response = server_error(RequestFactory().get("/"))
    text = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text and 'href="/"' in text
