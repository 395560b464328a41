"""The seeds: deterministic ids, the acme people and objects the demo relies on, and the large
org's size and its pages served from cached JSON (their speed is measured by `make bench`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from okta.sandbox import seed
from okta.sandbox.store import Org, page


@pytest.fixture(scope="module")
def acme() -> Org:
    return seed.build_acme("http://127.0.0.1:1")


@pytest.fixture(scope="module")
def large() -> Iterator[Org]:
    yield seed.build_large("http://127.0.0.1:1")


def test_seed_acme_ids_are_the_same_every_build(acme: Org) -> None:
    again = seed.build_acme("http://127.0.0.1:2")
    assert again.user_order == acme.user_order
    assert again.group_order == acme.group_order
    assert again.app_order == acme.app_order
    assert seed.acme_user_id("maya.chen@acme.com") in acme.users
    assert all(len(uid) == 20 and uid.startswith("00u") for uid in acme.user_order)
    assert all(gid.startswith("00g") for gid in acme.group_order)
    assert all(aid.startswith("0oa") for aid in acme.app_order)


@pytest.mark.parametrize(
    ("login", "title", "department", "manager"),
    [
        ("maya.chen@acme.com", "Software Engineer", "Engineering", "priya.patel@acme.com"),
        ("priya.patel@acme.com", "Engineering Manager", "Engineering", None),
        ("john.doe@acme.com", "Financial Analyst", "Finance", "omar.haddad@acme.com"),
        ("omar.haddad@acme.com", "Finance Director", "Finance", None),
        ("jordan.lee@acme.com", "IT Help Desk", "IT", None),
        ("sam.rivera@acme.com", "IT Admin", "IT", None),
        ("tessa.nguyen@acme.com", "Security Auditor", "Security", None),
    ],
)
def test_seed_acme_named_people(
    acme: Org, login: str, title: str, department: str, manager: str | None
) -> None:
    user = acme.user(login)
    profile = user["profile"]
    assert user["status"] == "ACTIVE"
    assert (profile["title"], profile["department"], profile["email"]) == (title, department, login)
    if manager:
        assert profile["manager"] == manager
        assert profile["managerId"] == seed.acme_user_id(manager)


def test_seed_acme_roles_and_portal_groups(acme: Org) -> None:
    def groups(login: str) -> set[str]:
        return {acme.groups[g]["profile"]["name"] for g in acme.groups_of(acme.user(login)["id"])}

    def roles(login: str) -> list[str]:
        return [r["type"] for r in acme.roles.get(acme.user(login)["id"], [])]

    assert roles("jordan.lee@acme.com") == ["HELP_DESK_ADMIN"]
    assert "Gatehouse Helpdesk" in groups("jordan.lee@acme.com")
    assert roles("sam.rivera@acme.com") == ["SUPER_ADMIN"]
    assert "Gatehouse Admins" in groups("sam.rivera@acme.com")
    assert "Gatehouse Auditors" in groups("tessa.nguyen@acme.com")


def test_seed_acme_population(acme: Org) -> None:
    assert 450 <= len(acme.users) <= 550
    statuses = Counter(u["status"] for u in acme.users.values())
    for status in ("SUSPENDED", "LOCKED_OUT", "STAGED", "DEPROVISIONED"):
        assert statuses[status] >= 3
    departments = Counter(u["profile"].get("department") for u in acme.users.values())
    assert len(departments) >= 10
    assert all(
        u["profile"].get("managerId") in acme.users
        for u in acme.users.values()
        if u["profile"].get("managerId")
    )
    cutoff = (datetime.now(UTC) - timedelta(days=60)).isoformat()[:19]
    idle_finance = [
        u
        for u in acme.users.values()
        if u["profile"].get("department") == "Finance"
        and u["lastLogin"]
        and u["lastLogin"] < cutoff
    ]
    assert len(idle_finance) >= 5


def test_seed_acme_groups_and_apps(acme: Org) -> None:
    by_name = {g["profile"]["name"]: g for g in acme.groups.values()}
    assert by_name["Everyone"]["type"] == "BUILT_IN"
    assert len(acme.members[by_name["Everyone"]["id"]]) == len(acme.users)
    assert any(g["type"] == "APP_GROUP" for g in acme.groups.values())
    assert 8 <= len(acme.members[by_name["New Hires - April"]["id"]]) <= 12
    modes = {a["label"]: a["signOnMode"] for a in acme.apps.values()}
    assert {"Slack", "Zoom", "Notion", "Figma", "Salesforce", "GitHub", "Jira"} <= set(modes)
    assert {"SAML_2_0", "OPENID_CONNECT", "AUTO_LOGIN"} <= set(modes.values())
    assert any(acme.app_users[a] for a in acme.apps)
    assert any(acme.app_groups[a] for a in acme.apps)


def test_seed_acme_has_a_plausible_history(acme: Org) -> None:
    assert len(acme.events) > 1000
    assert acme.event_times == sorted(acme.event_times)
    kinds = Counter(e["eventType"] for e in acme.events)
    assert kinds["user.lifecycle.create"] == len(acme.users) - 1
    assert kinds["group.user_membership.add"] > 100


def test_seed_demo_people_carry_their_okta_ids() -> None:
    people = seed.demo_people()
    logins = [p["login"] for p in people]
    assert "maya.chen@acme.com" in logins
    maya = next(p for p in people if p["login"] == "maya.chen@acme.com")
    assert maya == {
        "login": "maya.chen@acme.com",
        "email": "maya.chen@acme.com",
        "name": "Maya Chen",
        "given_name": "Maya",
        "family_name": "Chen",
        "title": "Software Engineer",
        "department": "Engineering",
        "sub": seed.acme_user_id("maya.chen@acme.com"),
    }


def test_seed_empty_has_only_the_api_admin() -> None:
    org = seed.build_empty("http://127.0.0.1:1")
    assert [u["profile"]["login"] for u in org.users.values()] == ["gatehouse.api@empty.example"]
    assert org.roles[org.admin_id][0]["type"] == "SUPER_ADMIN"


def test_seed_large_has_the_promised_size(large: Org) -> None:
    org = large
    assert len(org.users) == 100_001  # 100,000 people and the API admin
    assert len(org.groups) == 10_000
    assert len(org.apps) == 2_000
    assert sum(len(m) for m in org.members.values()) == 1_000_001
    assert sum(len(u) for u in org.app_users.values()) > 0


def test_seed_large_pages_serialise_each_object_once(large: Org) -> None:
    """Pages are served from each object's cached JSON; a change drops only that object's."""
    org = large
    ids = page(org.user_order, None, 200)[0]
    first = org.json_list(ids)
    assert all(org._json.get(i) is not None for i in ids)
    cached = org._json[ids[0]]
    assert org.json_list(ids) == first
    assert org._json[ids[0]] is cached  # reused, not serialised again
    org._dirty(ids[0])
    assert ids[0] not in org._json and ids[1] in org._json
    assert org.json_list(ids) == first
