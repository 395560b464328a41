"""Groups: list/q/filter/search, get/create/update/delete, members, and the group-type rules."""

from __future__ import annotations

from typing import Any

import pytest

from okta.sandbox.seed import acme_group_id, acme_user_id
from tests.okta.sandbox.test_users import all_pages, next_link

MAYA = acme_user_id("maya.chen@acme.com")
JOHN = acme_user_id("john.doe@acme.com")
FINANCE = acme_group_id("Finance")
EVERYONE = acme_group_id("Everyone")
APP_GROUP = acme_group_id("Salesforce - Sales Reps")


def test_groups_list_has_every_acme_group_type(okta: Any) -> None:
    groups = okta("GET", "/api/v1/groups").body
    names = {g["profile"]["name"]: g["type"] for g in groups}
    for name in (
        "Engineering",
        "Engineering - Backend",
        "Engineering - Frontend",
        "Backend Leads",
        "Finance",
        "Sales",
        "New Hires - April",
        "Gatehouse Admins",
        "Gatehouse Helpdesk",
        "Gatehouse Auditors",
    ):
        assert names[name] == "OKTA_GROUP"
    assert names["Everyone"] == "BUILT_IN"
    assert "APP_GROUP" in names.values()


def test_groups_list_pages_with_small_limit(okta: Any, okta_sandbox: Any) -> None:
    first = okta("GET", "/api/v1/groups?limit=10")
    assert len(first.body) == 10
    everything = all_pages(okta, okta_sandbox, "/api/v1/groups?limit=10")
    assert len(everything) == okta_sandbox.state()["groups"]
    assert len({g["id"] for g in everything}) == len(everything)


def test_groups_q_matches_name_prefix(okta: Any) -> None:
    names = [g["profile"]["name"] for g in okta("GET", "/api/v1/groups?q=Engineering").body]
    assert sorted(names) == ["Engineering", "Engineering - Backend", "Engineering - Frontend"]


def test_groups_filter_by_type_and_last_membership_updated(okta: Any) -> None:
    okta_groups = okta("GET", '/api/v1/groups?filter=type%20eq%20"OKTA_GROUP"').body
    assert okta_groups and all(g["type"] == "OKTA_GROUP" for g in okta_groups)
    before = okta("GET", f"/api/v1/groups/{FINANCE}").body["lastMembershipUpdated"]
    okta("PUT", f"/api/v1/groups/{FINANCE}/users/{MAYA}")
    changed = okta("GET", f'/api/v1/groups?filter=lastMembershipUpdated%20gt%20"{before}"').body
    assert [g["id"] for g in changed] == [FINANCE]
    updated = okta("GET", f'/api/v1/groups?filter=lastUpdated%20gt%20"{before}"').body
    assert updated == []


def test_groups_search_by_profile_name(okta: Any) -> None:
    found = okta("GET", '/api/v1/groups?search=profile.name%20sw%20"Gatehouse"').body
    assert {g["profile"]["name"] for g in found} == {
        "Gatehouse Admins",
        "Gatehouse Helpdesk",
        "Gatehouse Auditors",
    }


def test_groups_malformed_filter_is_400_e0000031(okta: Any) -> None:
    response = okta("GET", "/api/v1/groups?filter=type%20eq")
    assert response.status == 400
    assert response.body["errorCode"] == "E0000031"


def test_groups_get_create_update_delete(okta: Any) -> None:
    created = okta("POST", "/api/v1/groups", {"profile": {"name": "Data Team"}}).body
    assert created["type"] == "OKTA_GROUP"
    assert created["id"].startswith("00g")
    assert created["profile"]["description"] == ""
    gid = created["id"]
    assert okta("GET", f"/api/v1/groups/{gid}").body["profile"]["name"] == "Data Team"
    updated = okta(
        "PUT", f"/api/v1/groups/{gid}", {"profile": {"name": "Data", "description": "Analysts"}}
    ).body
    assert updated["profile"] == {"name": "Data", "description": "Analysts"}
    deleted = okta("DELETE", f"/api/v1/groups/{gid}")
    assert deleted.status == 204
    assert "content-type" not in deleted.headers
    assert okta("GET", f"/api/v1/groups/{gid}").status == 404


def test_groups_create_duplicate_name_is_400(okta: Any) -> None:
    response = okta("POST", "/api/v1/groups", {"profile": {"name": "finance"}})
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"


def test_groups_create_without_name_is_400(okta: Any) -> None:
    response = okta("POST", "/api/v1/groups", {"profile": {"description": "x"}})
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"


def test_groups_members_page_by_1000_at_most(okta: Any, okta_sandbox: Any) -> None:
    first = okta("GET", f"/api/v1/groups/{EVERYONE}/users?limit=5000")
    assert len(first.body) == okta_sandbox.state()["users"]  # fewer than 1000 in acme
    small = okta("GET", f"/api/v1/groups/{FINANCE}/users?limit=10")
    assert len(small.body) == 10
    members = all_pages(okta, okta_sandbox, f"/api/v1/groups/{FINANCE}/users?limit=10")
    assert all(u["profile"]["department"] == "Finance" for u in members)
    assert len(members) == len({u["id"] for u in members})
    assert next_link(okta("GET", f"/api/v1/groups/{FINANCE}/users")) is None


def test_groups_member_put_is_204_and_idempotent(okta: Any, okta_sandbox: Any) -> None:
    response = okta("PUT", f"/api/v1/groups/{FINANCE}/users/{MAYA}")
    assert response.status == 204
    assert "content-type" not in response.headers
    assert response.raw == b""
    assert okta("PUT", f"/api/v1/groups/{FINANCE}/users/{MAYA}").status == 204
    assert "Finance" in okta_sandbox.user_state(MAYA)["groups"]
    events = okta(
        "GET",
        '/api/v1/logs?filter=eventType%20eq%20"group.user_membership.add"&since=2026-01-01T00:00:00Z&sortOrder=DESCENDING&limit=5',
    ).body
    assert [t["id"] for t in events[0]["target"]] == [MAYA, FINANCE]


def test_groups_member_delete_is_204_and_removes(okta: Any, okta_sandbox: Any) -> None:
    response = okta("DELETE", f"/api/v1/groups/{FINANCE}/users/{JOHN}")
    assert response.status == 204
    assert "Finance" not in okta_sandbox.user_state(JOHN)["groups"]
    assert okta("DELETE", f"/api/v1/groups/{FINANCE}/users/{JOHN}").status == 204


def test_groups_member_unknown_user_or_group_is_404(okta: Any) -> None:
    assert okta("PUT", f"/api/v1/groups/{FINANCE}/users/00uNOPE0000000000000").status == 404
    response = okta("PUT", f"/api/v1/groups/00gNOPE0000000000000/users/{MAYA}")
    assert response.status == 404
    assert response.body["errorCode"] == "E0000007"


@pytest.mark.parametrize("gid", [EVERYONE, APP_GROUP], ids=["BUILT_IN", "APP_GROUP"])
def test_groups_read_only_types_refuse_changes_with_e0000006(
    okta: Any, okta_sandbox: Any, gid: str
) -> None:
    before = okta_sandbox.state()
    attempts = [
        okta("PUT", f"/api/v1/groups/{gid}/users/{MAYA}"),
        okta("DELETE", f"/api/v1/groups/{gid}/users/{acme_user_id('omar.haddad@acme.com')}"),
        okta("PUT", f"/api/v1/groups/{gid}", {"profile": {"name": "Renamed"}}),
        okta("DELETE", f"/api/v1/groups/{gid}"),
    ]
    for response in attempts:
        assert response.status == 403
        assert response.body["errorCode"] == "E0000006"
    assert okta_sandbox.state() == before


def test_groups_expand_stats_embeds_counts(okta: Any) -> None:
    group = okta("GET", f"/api/v1/groups/{FINANCE}?expand=stats").body
    assert group["_embedded"]["stats"]["usersCount"] > 30


def test_groups_apps_lists_apps_assigned_to_the_group(okta: Any) -> None:
    apps = okta("GET", f"/api/v1/groups/{acme_group_id('Engineering')}/apps").body
    assert {a["label"] for a in apps} == {"GitHub", "Jira"}
