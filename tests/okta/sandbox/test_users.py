"""Users: list, pagination, q/filter/search, get, create, update, delete and every lifecycle rule.

Every call goes through the ``okta`` fixture, which validates the answer against Okta's spec.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okta.sandbox.seed import acme_group_id, acme_user_id

MAYA = acme_user_id("maya.chen@acme.com")
SIXTY_DAYS_AGO = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def next_link(response: Any) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def path_of(url: str, base: str) -> str:
    return url[len(base) :]


def all_pages(okta: Any, okta_sandbox: Any, path: str) -> list[dict[str, Any]]:
    page = okta("GET", path.replace(" ", "%20"))
    found = list(page.body)
    url = next_link(page)
    while url:
        page = okta("GET", path_of(url, okta_sandbox.url))
        found.extend(page.body)
        url = next_link(page)
    return found


def first_with_status(okta_sandbox: Any, okta: Any, status: str) -> str:
    found = okta("GET", f'/api/v1/users?search=status eq "{status}"&limit=1'.replace(" ", "%20"))
    assert found.body, f"the acme seed has a {status} user"
    return str(found.body[0]["id"])


def test_users_list_pages_with_link_headers_until_the_end(okta: Any, okta_sandbox: Any) -> None:
    first = okta("GET", "/api/v1/users?limit=200")
    assert first.status == 200
    assert len(first.body) == 200
    link = first.headers["link"]
    assert link.index('rel="self"') < link.index('rel="next"')
    seen = [u["id"] for u in first.body]
    url = next_link(first)
    pages = 1
    while url:
        page = okta("GET", path_of(url, okta_sandbox.url))
        seen.extend(u["id"] for u in page.body)
        url = next_link(page)
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen))
    everyone = okta_sandbox.state()["users"]
    deprovisioned = okta("GET", '/api/v1/users?search=status%20eq%20"DEPROVISIONED"').body
    assert len(seen) == everyone - len(deprovisioned)


def test_users_list_caps_limit_at_200(okta: Any) -> None:
    assert len(okta("GET", "/api/v1/users?limit=1000").body) == 200


def test_users_list_plain_leaves_out_deprovisioned_like_okta(okta: Any) -> None:
    statuses: set[str] = set()
    response = okta("GET", "/api/v1/users?limit=200")
    statuses.update(u["status"] for u in response.body)
    assert "DEPROVISIONED" not in statuses


def test_users_list_after_cursor_resumes_after_a_deleted_user(okta: Any, okta_sandbox: Any) -> None:
    first = okta("GET", "/api/v1/users?limit=5")
    last = first.body[-1]["id"]
    okta("DELETE", f"/api/v1/users/{last}")
    okta("DELETE", f"/api/v1/users/{last}")
    second = okta("GET", f"/api/v1/users?limit=5&after={last}")
    assert second.body[0]["id"] > last


def test_users_q_matches_name_and_email_prefixes(okta: Any) -> None:
    response = okta("GET", "/api/v1/users?q=maya.ch")
    assert [u["profile"]["login"] for u in response.body] == ["maya.chen@acme.com"]
    by_last_name = okta("GET", "/api/v1/users?q=Haddad")
    assert "omar.haddad@acme.com" in [u["profile"]["login"] for u in by_last_name.body]


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        ('profile.department eq "Finance"', lambda u: u["profile"]["department"] == "Finance"),
        ('status eq "SUSPENDED"', lambda u: u["status"] == "SUSPENDED"),
        ('profile.login sw "maya"', lambda u: u["profile"]["login"].startswith("maya")),
        ('profile.title co "Engineer"', lambda u: "Engineer" in u["profile"]["title"]),
        ("profile.managerId pr", lambda u: bool(u["profile"].get("managerId"))),
        (
            'profile.department eq "Finance" and (status eq "ACTIVE" or status eq "SUSPENDED")',
            lambda u: (
                u["profile"]["department"] == "Finance" and u["status"] in ("ACTIVE", "SUSPENDED")
            ),
        ),
        (
            f'lastLogin lt "{SIXTY_DAYS_AGO}" or lastLogin gt "2099-01-01T00:00:00Z"',
            lambda u: u["lastLogin"] is not None and u["lastLogin"] < SIXTY_DAYS_AGO,
        ),
        (f'id eq "{MAYA}"', lambda u: u["id"] == MAYA),
        ('not (status eq "ACTIVE")', lambda u: u["status"] != "ACTIVE"),
    ],
)
def test_users_search_returns_exactly_the_matching_users(
    okta: Any, okta_sandbox: Any, expression: str, check: Any
) -> None:
    found = all_pages(okta, okta_sandbox, f"/api/v1/users?search={expression}&limit=200")
    assert found
    everyone = all_pages(okta, okta_sandbox, "/api/v1/users?search=id pr&limit=200")
    assert {u["id"] for u in found} == {u["id"] for u in everyone if check(u)}


def test_users_search_finds_finance_people_idle_for_60_days(okta: Any) -> None:
    expression = f'profile.department eq "Finance" and lastLogin lt "{SIXTY_DAYS_AGO}"'
    found = okta("GET", f"/api/v1/users?search={expression}".replace(" ", "%20")).body
    assert len(found) >= 5


def test_users_filter_accepts_okta_filter_attributes(okta: Any) -> None:
    found = okta("GET", '/api/v1/users?filter=status%20eq%20"LOCKED_OUT"').body
    assert found and all(u["status"] == "LOCKED_OUT" for u in found)
    since = okta("GET", '/api/v1/users?filter=lastUpdated%20gt%20"2000-01-01T00:00:00.000Z"').body
    assert len(since) == 200


@pytest.mark.parametrize(
    "query",
    [
        "search=status%20eq",
        "search=((status%20eq%20%22ACTIVE%22)",
        "search=status%20equals%20%22ACTIVE%22",
        "search=status%20eq%20%22ACTIVE%22%20and",
        'search=lastUpdated%20gt%20"yesterday"',
        "search=%22unterminated",
        'filter=profile.department%20eq%20"Finance"',
        'filter=status%20sw%20"ACT"',
    ],
)
def test_users_malformed_search_or_filter_is_400_e0000031(okta: Any, query: str) -> None:
    response = okta("GET", f"/api/v1/users?{query}")
    assert response.status == 400
    assert response.body["errorCode"] == "E0000031"
    assert response.body["errorSummary"] == "Invalid search criteria."
    assert set(response.body) == {
        "errorCode",
        "errorSummary",
        "errorLink",
        "errorId",
        "errorCauses",
    }


def test_users_get_by_id_login_and_me(okta: Any, okta_sandbox: Any) -> None:
    by_id = okta("GET", f"/api/v1/users/{MAYA}").body
    by_login = okta("GET", "/api/v1/users/maya.chen@acme.com").body
    assert by_id == by_login
    assert by_id["profile"]["manager"] == "priya.patel@acme.com"
    assert by_id["profile"]["managerId"] == acme_user_id("priya.patel@acme.com")
    me = okta("GET", "/api/v1/users/me").body
    assert me["profile"]["login"] == "gatehouse.api@acme.com"


def test_users_get_unknown_is_404_e0000007(okta: Any) -> None:
    response = okta("GET", "/api/v1/users/00uNOPE0000000000000")
    assert response.status == 404
    assert response.body["errorCode"] == "E0000007"
    assert response.headers["x-okta-request-id"]


def new_person(login: str = "new.person@acme.com") -> dict[str, Any]:
    return {
        "profile": {
            "firstName": "New",
            "lastName": "Person",
            "email": login,
            "login": login,
            "department": "Engineering",
        }
    }


def test_users_create_with_password_is_active_and_in_everyone(okta: Any, okta_sandbox: Any) -> None:
    body = {**new_person(), "credentials": {"password": {"value": "Correct-Horse-42"}}}
    response = okta("POST", "/api/v1/users?activate=true", body)
    assert response.status == 200
    user = response.body
    assert user["status"] == "ACTIVE"
    assert user["id"].startswith("00u") and len(user["id"]) == 20
    assert "value" not in user["credentials"].get("password", {})
    assert okta_sandbox.user_state(user["id"])["groups"] == ["Everyone"]


def test_users_create_variants_set_okta_statuses(okta: Any) -> None:
    staged = okta("POST", "/api/v1/users?activate=false", new_person("a@acme.com")).body
    provisioned = okta("POST", "/api/v1/users", new_person("b@acme.com")).body
    expired = okta(
        "POST",
        "/api/v1/users?activate=true&nextLogin=changePassword",
        {**new_person("c@acme.com"), "credentials": {"password": {"value": "Temp-Pass-123"}}},
    ).body
    assert (staged["status"], provisioned["status"], expired["status"]) == (
        "STAGED",
        "PROVISIONED",
        "PASSWORD_EXPIRED",
    )


def test_users_create_with_group_ids_adds_memberships(okta: Any, okta_sandbox: Any) -> None:
    body = {**new_person(), "groupIds": [acme_group_id("Engineering")]}
    user = okta("POST", "/api/v1/users", body).body
    assert okta_sandbox.user_state(user["id"])["groups"] == ["Engineering", "Everyone"]


def test_users_create_duplicate_login_is_400_e0000001(okta: Any) -> None:
    response = okta("POST", "/api/v1/users", new_person("maya.chen@acme.com"))
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"
    assert "already exists" in response.body["errorCauses"][0]["errorSummary"]


def test_users_create_missing_fields_is_400_with_causes(okta: Any) -> None:
    response = okta("POST", "/api/v1/users", {"profile": {"login": "x@acme.com"}})
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"
    causes = [c["errorSummary"] for c in response.body["errorCauses"]]
    assert any(c.startswith("firstName") for c in causes)


def test_users_create_bad_json_is_400_e0000003(okta_sandbox: Any) -> None:
    import urllib.request

    request = urllib.request.Request(
        okta_sandbox.url + "/api/v1/users",
        data=b"{not json",
        method="POST",
        headers={"Authorization": f"SSWS {okta_sandbox.token}", "Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
        import json

        body = json.loads(exc.read())
        assert body["errorCode"] == "E0000003"


def test_users_partial_update_merges_profile_and_replace_replaces(okta: Any) -> None:
    updated = okta("POST", f"/api/v1/users/{MAYA}", {"profile": {"title": "Staff Engineer"}}).body
    assert updated["profile"]["title"] == "Staff Engineer"
    assert updated["profile"]["department"] == "Engineering"
    profile = {
        "firstName": "Maya",
        "lastName": "Chen",
        "email": "maya.chen@acme.com",
        "login": "maya.chen@acme.com",
    }
    replaced = okta("PUT", f"/api/v1/users/{MAYA}", {"profile": profile}).body
    assert replaced["profile"] == profile
    assert replaced["lastUpdated"] > "2026"


def test_users_replace_without_required_fields_is_400(okta: Any) -> None:
    response = okta("PUT", f"/api/v1/users/{MAYA}", {"profile": {"title": "x"}})
    assert response.status == 400
    assert response.body["errorCode"] == "E0000001"


def test_users_delete_deactivates_first_then_deletes(okta: Any) -> None:
    first = okta("DELETE", f"/api/v1/users/{MAYA}")
    assert first.status == 204
    assert "content-type" not in first.headers
    assert okta("GET", f"/api/v1/users/{MAYA}").body["status"] == "DEPROVISIONED"
    assert okta("DELETE", f"/api/v1/users/{MAYA}").status == 204
    assert okta("GET", f"/api/v1/users/{MAYA}").status == 404


# --- lifecycle --------------------------------------------------------------------------------
ALLOWED = [
    ("ACTIVE", "suspend", "SUSPENDED"),
    ("SUSPENDED", "unsuspend", "ACTIVE"),
    ("ACTIVE", "deactivate", "DEPROVISIONED"),
    ("SUSPENDED", "deactivate", "DEPROVISIONED"),
    ("DEPROVISIONED", "activate", "ACTIVE"),
    ("STAGED", "activate", "PROVISIONED"),
    ("PROVISIONED", "reactivate", "PROVISIONED"),
    ("LOCKED_OUT", "unlock", "ACTIVE"),
    ("ACTIVE", "reset_password", "RECOVERY"),
    ("LOCKED_OUT", "reset_password", "RECOVERY"),
    ("ACTIVE", "expire_password", "PASSWORD_EXPIRED"),
    ("ACTIVE", "expire_password_with_temp_password", "PASSWORD_EXPIRED"),
    ("ACTIVE", "reset_factors", "ACTIVE"),
]
REFUSED = [
    ("SUSPENDED", "suspend", 400, "E0000001"),
    ("STAGED", "suspend", 400, "E0000001"),
    ("ACTIVE", "unsuspend", 400, "E0000001"),
    ("ACTIVE", "activate", 403, "E0000016"),
    ("SUSPENDED", "activate", 403, "E0000038"),
    ("ACTIVE", "reactivate", 403, "E0000038"),
    ("ACTIVE", "unlock", 403, "E0000038"),
    ("DEPROVISIONED", "deactivate", 403, "E0000038"),
    ("SUSPENDED", "reset_password", 403, "E0000038"),
    ("STAGED", "expire_password", 403, "E0000038"),
    ("DEPROVISIONED", "reset_factors", 403, "E0000038"),
]


@pytest.mark.parametrize(("before", "action", "after"), ALLOWED)
def test_users_lifecycle_allowed_transition_changes_status(
    okta: Any, okta_sandbox: Any, before: str, action: str, after: str
) -> None:
    uid = first_with_status(okta_sandbox, okta, before)
    response = okta("POST", f"/api/v1/users/{uid}/lifecycle/{action}")
    assert response.status == 200, response.body
    assert okta("GET", f"/api/v1/users/{uid}").body["status"] == after
    if action == "expire_password_with_temp_password":
        assert response.body["tempPassword"]
    if action == "expire_password":
        assert response.body["id"] == uid


@pytest.mark.parametrize(("before", "action", "status", "code"), REFUSED)
def test_users_lifecycle_refused_transition_keeps_status(
    okta: Any, okta_sandbox: Any, before: str, action: str, status: int, code: str
) -> None:
    uid = first_with_status(okta_sandbox, okta, before)
    response = okta("POST", f"/api/v1/users/{uid}/lifecycle/{action}")
    assert response.status == status
    assert response.body["errorCode"] == code
    assert okta("GET", f"/api/v1/users/{uid}").body["status"] == before


def test_users_reset_password_without_email_returns_reset_url(okta: Any) -> None:
    response = okta("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_password?sendEmail=false")
    assert response.body["resetPasswordUrl"].startswith("http")
    with_email = okta("POST", f"/api/v1/users/{MAYA}/lifecycle/reset_password?sendEmail=true")
    assert with_email.status == 200
    assert with_email.body == {}


def test_users_activate_without_email_returns_activation_url(okta: Any, okta_sandbox: Any) -> None:
    uid = first_with_status(okta_sandbox, okta, "STAGED")
    response = okta("POST", f"/api/v1/users/{uid}/lifecycle/activate?sendEmail=false")
    assert response.body["activationUrl"].startswith("http")
    assert response.body["activationToken"]


def test_users_lifecycle_unknown_user_is_404(okta: Any) -> None:
    response = okta("POST", "/api/v1/users/00uNOPE0000000000000/lifecycle/suspend")
    assert response.status == 404
    assert response.body["errorCode"] == "E0000007"


def test_users_clear_sessions_is_204_and_logged(okta: Any) -> None:
    response = okta("DELETE", f"/api/v1/users/{MAYA}/sessions?oauthTokens=true")
    assert response.status == 204
    assert "content-type" not in response.headers
    events = okta("GET", '/api/v1/logs?filter=eventType%20eq%20"user.session.clear"').body
    assert [e["target"][0]["id"] for e in events] == [MAYA]


def test_users_groups_lists_the_users_groups(okta: Any) -> None:
    names = {g["profile"]["name"] for g in okta("GET", f"/api/v1/users/{MAYA}/groups").body}
    assert names == {"Everyone", "Engineering", "Engineering - Frontend"}


def test_users_roles_lists_admin_roles(okta: Any) -> None:
    jordan = okta("GET", "/api/v1/users/jordan.lee@acme.com/roles").body
    assert [r["type"] for r in jordan] == ["HELP_DESK_ADMIN"]
    sam = okta("GET", f"/api/v1/users/{acme_user_id('sam.rivera@acme.com')}/roles").body
    assert [r["type"] for r in sam] == ["SUPER_ADMIN"]
    assert okta("GET", f"/api/v1/users/{MAYA}/roles").body == []


def test_users_with_roles_are_listed_by_iam_assignees(okta: Any) -> None:
    body = okta("GET", "/api/v1/iam/assignees/users").body
    ids = {entry["id"] for entry in body["value"]}
    assert acme_user_id("jordan.lee@acme.com") in ids
    assert acme_user_id("sam.rivera@acme.com") in ids
    assert MAYA not in ids
