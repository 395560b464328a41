"""Directory pages keep the signed-in person's navigation (roles, current section, status text)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from okta.models import AdminRole
from tests.accounts.conftest import group_join, person_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def helpdesk_client(client: Client) -> Client:
    jordan = person_make("jordan.lee@acme.com")
    group_join(jordan, "Gatehouse Helpdesk")
    client.force_login(User.objects.create_user(jordan.login, okta_id=jordan.id))
    return client


def test_user_page_with_admin_roles_keeps_viewer_nav(helpdesk_client: Client) -> None:
    person = person_make("ann.admin@acme.com", status="SUSPENDED")
    AdminRole.objects.create(user=person, type="SUPER_ADMIN", label="Super Administrator")
    content = helpdesk_client.get(f"/directory/users/{person.id}/").content.decode()
    assert "Super Administrator" in content
    # the page's admin roles once shadowed the viewer's roles and hid these links
    assert 'href="/directory/users/" aria-current="page">Directory</a>' in content
    assert 'href="/identity/people/"' in content
    assert '<span aria-hidden="true">‖</span> SUSPENDED' in content  # status: icon + words


def test_user_list_empty_says_what_to_try(helpdesk_client: Client) -> None:
    content = helpdesk_client.get("/directory/users/?q=nobody-like-this").content.decode()
    assert "Nobody matches" in content and "next sync" in content
