"""Directory pages: who may see them, search, keyset paging and constant query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from okta.models import AdminRole, AppAssignment, GroupMembership, OktaApp, OktaGroup, OktaUser
from tests.accounts.conftest import group_join, person_make
from tests.fixtures.sandbox import SandboxServer

pytestmark = pytest.mark.django_db


def account(person: OktaUser) -> User:
    return User.objects.create_user(person.login, okta_id=person.id)


def signed_in(client: Client, person: OktaUser) -> Client:
    client.force_login(account(person))
    return client


@pytest.fixture
def admin_client(client: Client) -> Client:
    sam = person_make("sam.rivera@acme.com")
    group_join(sam, "Gatehouse Admins")
    return signed_in(client, sam)


@pytest.fixture
def helpdesk_client(client: Client) -> Client:
    jordan = person_make("jordan.lee@acme.com")
    group_join(jordan, "Gatehouse Helpdesk")
    return signed_in(client, jordan)


@pytest.fixture
def stranger_client(client: Client) -> Client:
    return signed_in(client, person_make("sam.stranger@acme.com"))


@pytest.fixture
def crowd() -> list[OktaUser]:
    """130 people across two departments, plus one group and one app with all of them."""
    people = [
        OktaUser(
            id=f"00ucrowd{i:012d}",
            login=f"person{i:03d}@acme.com",
            email=f"person{i:03d}@acme.com",
            first_name=f"First{i % 7}",
            last_name=f"Last{i:03d}",
            status="ACTIVE" if i % 10 else "SUSPENDED",
            department="Engineering" if i % 2 else "Sales",
        )
        for i in range(130)
    ]
    OktaUser.objects.bulk_create(people)
    group = OktaGroup.objects.create(id="00gcrowd000000000001", name="Crowd", type="OKTA_GROUP")
    app = OktaApp.objects.create(
        id="0oacrowd00000000001", name="crowd", label="Crowd App", status="ACTIVE"
    )
    GroupMembership.objects.bulk_create([GroupMembership(group=group, user=p) for p in people])
    AppAssignment.objects.bulk_create([AppAssignment(app=app, user=p) for p in people])
    return people


def test_user_list_helpdesk_sees_directory(helpdesk_client: Client, crowd: list[OktaUser]) -> None:
    response = helpdesk_client.get("/directory/users/")
    assert response.status_code == 200
    assert b"person000@acme.com" in response.content
    assert b"<html" in response.content
    page = response.content.decode()
    for field, label in (("id_q", "Search people"), ("id_status", "Status")):
        assert f'<label class="form-label" for="{field}">{label}</label>' in page  # visible


def test_user_list_stranger_is_forbidden(stranger_client: Client) -> None:
    assert stranger_client.get("/directory/users/").status_code == 403
    assert stranger_client.get("/admin/okta/").status_code == 403


def test_user_list_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get("/directory/users/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_user_detail_stranger_gets_404(stranger_client: Client, crowd: list[OktaUser]) -> None:
    assert stranger_client.get(f"/directory/users/{crowd[0].id}/").status_code == 404
    assert stranger_client.get("/directory/groups/00gcrowd000000000001/").status_code == 404
    assert stranger_client.get("/directory/apps/0oacrowd00000000001/").status_code == 404


def test_user_list_search_by_name_email_status_department(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    by_login = admin_client.get("/directory/users/", {"q": "person042"})
    assert b"person042@acme.com" in by_login.content
    assert b"person043@acme.com" not in by_login.content
    by_name = admin_client.get("/directory/users/", {"q": "first3 last010"})
    assert b"person010@acme.com" in by_name.content
    assert b"person011@acme.com" not in by_name.content
    suspended = admin_client.get("/directory/users/", {"status": "SUSPENDED", "q": "person"})
    assert b"person010@acme.com" in suspended.content
    assert b"person011@acme.com" not in suspended.content
    sales = admin_client.get("/directory/users/", {"department": "sales", "q": "person00"})
    assert b"person002@acme.com" in sales.content
    assert b"person003@acme.com" not in sales.content


def test_user_list_search_matches_the_start_of_a_field_ignoring_case(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    OktaUser.objects.create(
        id="00usearchcase0000001",
        login="zoe.quinn@acme.com",
        email="zq@acme.com",
        first_name="Zoë",
        last_name="Quinn-Ávila",
        display_name="Zoe Q. Quinn-Ávila",
        status="ACTIVE",
    )

    def logins(q: str) -> list[str]:
        response = admin_client.get("/directory/users/", {"q": q})
        return [u.login for u in response.context["users"]]

    assert logins("QUINN-Áv") == ["zoe.quinn@acme.com"]
    assert logins("zoe QUINN") == ["zoe.quinn@acme.com"]  # display name or login, last name
    assert logins("zoe q.") == []  # "q." is inside the display name
    assert logins("ZQ@") == ["zoe.quinn@acme.com"]
    assert logins("uinn") == []  # inside a field, not at its start
    assert logins("avila") == []
    assert logins("acme.com") == []
    assert logins("50%") == []  # LIKE wildcards are plain characters
    assert logins("person_1") == []
    assert len(logins("person1")) == 30


def test_user_list_htmx_search_returns_results_fragment(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    response = admin_client.get(
        "/directory/users/", {"q": "person007"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="results"' in response.content
    assert b"person007@acme.com" in response.content


def test_user_list_keyset_pages_cover_everyone_once(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    seen: list[str] = []
    after = ""
    for _ in range(10):
        response = admin_client.get("/directory/users/", {"q": "person", "after": after})
        page = [u.login for u in response.context["users"]]
        seen.extend(page)
        after = response.context["next_token"]
        if not after:
            break
    assert len(seen) == 130
    assert len(set(seen)) == 130


def test_user_list_next_link_keeps_the_search_and_replaces_the_cursor(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    first = admin_client.get("/directory/users/", {"q": "person"})
    second = admin_client.get(
        "/directory/users/", {"q": "person", "after": first.context["next_token"]}
    )
    assert second.context["query"] == "q=person"
    link = f'href="?q=person&amp;after={second.context["next_token"]}"'
    assert link in second.content.decode()


def test_user_list_query_count_is_constant_across_pages(
    admin_client: Client, crowd: list[OktaUser], django_assert_num_queries: Any
) -> None:
    first = admin_client.get("/directory/users/")  # warm the session
    token = first.context["next_token"]
    with CaptureQueriesContext(connection) as captured:
        admin_client.get("/directory/users/")
    baseline = len(captured)
    with django_assert_num_queries(baseline):
        admin_client.get("/directory/users/", {"after": token})
    with django_assert_num_queries(baseline):
        admin_client.get("/directory/users/", {"q": "person1", "status": "ACTIVE"})


def test_group_detail_members_query_count_is_constant(
    admin_client: Client, crowd: list[OktaUser], django_assert_num_queries: Any
) -> None:
    url = "/directory/groups/00gcrowd000000000001/"
    first = admin_client.get(url)
    assert first.context["user_count"] == 130
    assert len(first.context["users"]) == 50
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(url)
    with django_assert_num_queries(len(captured)):
        admin_client.get(url, {"after": first.context["next_token"]})


def test_app_detail_lists_assigned_users(admin_client: Client, crowd: list[OktaUser]) -> None:
    response = admin_client.get("/directory/apps/0oacrowd00000000001/")
    assert response.status_code == 200
    assert response.context["user_count"] == 130
    assert b"person000@acme.com" in response.content


def test_group_and_app_lists_search(admin_client: Client, crowd: list[OktaUser]) -> None:
    groups = admin_client.get("/directory/groups/", {"q": "cro"}, headers={"HX-Request": "true"})
    assert b"Crowd" in groups.content
    assert b"<html" not in groups.content
    apps = admin_client.get("/directory/apps/", {"q": "nothing-like-this"})
    assert b"Crowd App" not in apps.content


def test_user_detail_shows_profile_groups_apps_and_roles(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    person = crowd[5]
    AdminRole.objects.create(user=person, type="HELP_DESK_ADMIN", label="Help Desk Administrator")
    response = admin_client.get(f"/directory/users/{person.id}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert person.login in content
    assert "Crowd App" in content
    assert ">Crowd<" in content
    assert "Help Desk Administrator" in content


def test_user_events_okta_unreachable_shows_clear_message(
    admin_client: Client, crowd: list[OktaUser], settings: Any
) -> None:
    settings.OKTA_ORG_URL = "http://127.0.0.1:9"
    settings.OKTA_API_TOKEN = "whatever"
    response = admin_client.get(
        f"/directory/users/{crowd[0].id}/events/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"Okta could not be reached" in response.content
    assert b"<html" not in response.content


def test_user_detail_bad_keyset_token_is_ignored(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    response = admin_client.get("/directory/users/", {"after": "%%%not-base64"})
    assert response.status_code == 200
    assert len(response.context["users"]) == 50


def test_directory_lists_stranger_is_forbidden(stranger_client: Client) -> None:
    for url in ("/directory/groups/", "/directory/apps/"):
        assert stranger_client.get(url).status_code == 403, url
    assert stranger_client.get("/directory/users/x/events/").status_code == 404


def test_user_events_lists_recent_system_log_events(
    admin_client: Client, okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    maya_id = okta_sandbox.user_id("maya.chen@acme.com")
    OktaUser.objects.create(id=maya_id, login="maya.chen@acme.com", status="ACTIVE")
    assert okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/suspend").status == 200
    response = admin_client.get(
        f"/directory/users/{maya_id}/events/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"user.lifecycle.suspend" in response.content
    assert b"could not be reached" not in response.content


def test_group_members_htmx_search_pages_keep_the_search(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    url = "/directory/groups/00gcrowd000000000001/"
    response = admin_client.get(url, {"q": "Last"}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content
    assert len(response.context["users"]) == 50 and response.context["user_count"] == 130
    link = f'href="?q=Last&amp;after={response.context["next_token"]}"'
    assert link in response.content.decode()
    assert b"hx-push-url" not in response.content  # a member search stays on the group's URL


def test_group_and_app_lists_search_form_keeps_the_search_in_the_address_bar(
    admin_client: Client, crowd: list[OktaUser]
) -> None:
    for url, placeholder in (
        ("/directory/groups/", "Group name starts with…"),
        ("/directory/apps/", "App label starts with…"),
    ):
        page = admin_client.get(url).content.decode()
        assert f'action="{url}"' in page and f'hx-get="{url}"' in page
        assert 'hx-push-url="true"' in page and f'placeholder="{placeholder}"' in page
