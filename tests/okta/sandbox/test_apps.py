"""Apps: list (q, filter user.id / group.id), get, app users with USER and GROUP scope, assign."""

from __future__ import annotations

from typing import Any

from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id
from tests.okta.sandbox.test_users import all_pages

MAYA = acme_user_id("maya.chen@acme.com")
JOHN = acme_user_id("john.doe@acme.com")
SLACK = acme_app_id("Slack")
NOTION = acme_app_id("Notion")


def test_apps_list_has_the_acme_apps_and_sign_on_modes(okta: Any, okta_sandbox: Any) -> None:
    apps = all_pages(okta, okta_sandbox, "/api/v1/apps?limit=3")
    by_label = {a["label"]: a["signOnMode"] for a in apps}
    for label in ("Slack", "Zoom", "Notion", "Figma", "Salesforce", "GitHub", "Jira"):
        assert label in by_label
    assert {"SAML_2_0", "OPENID_CONNECT", "AUTO_LOGIN"} <= set(by_label.values())


def test_apps_q_matches_label_prefix(okta: Any) -> None:
    assert [a["label"] for a in okta("GET", "/api/v1/apps?q=sla").body] == ["Slack"]


def test_apps_filter_user_id_lists_direct_and_group_apps(okta: Any) -> None:
    apps = okta("GET", f'/api/v1/apps?filter=user.id%20eq%20"{MAYA}"&limit=200').body
    labels = {a["label"] for a in apps}
    # Slack and Zoom through Everyone, GitHub and Jira through Engineering, Notion directly.
    assert labels == {"Slack", "Zoom", "GitHub", "Jira", "Notion"}


def test_apps_filter_group_id_lists_group_apps(okta: Any) -> None:
    apps = okta("GET", f'/api/v1/apps?filter=group.id%20eq%20"{acme_group_id("Engineering")}"').body
    assert {a["label"] for a in apps} == {"GitHub", "Jira"}


def test_apps_filter_malformed_is_400_e0000031(okta: Any) -> None:
    response = okta("GET", '/api/v1/apps?filter=user.id%20sw%20"00u"')
    assert response.status == 400
    assert response.body["errorCode"] == "E0000031"


def test_apps_get_unknown_is_404(okta: Any) -> None:
    response = okta("GET", "/api/v1/apps/0oaNOPE0000000000000")
    assert response.status == 404
    assert response.body["errorCode"] == "E0000007"


def test_apps_users_show_group_scope_for_group_assignments(okta: Any, okta_sandbox: Any) -> None:
    users = all_pages(okta, okta_sandbox, f"/api/v1/apps/{SLACK}/users?limit=500")
    assert len(users) == okta_sandbox.state()["users"]
    assert {u["scope"] for u in users} == {"GROUP"}
    maya = okta("GET", f"/api/v1/apps/{NOTION}/users/{MAYA}").body
    assert maya["scope"] == "USER"
    assert maya["credentials"]["userName"] == "maya.chen@acme.com"


def test_apps_assign_and_unassign_a_user(okta: Any, okta_sandbox: Any) -> None:
    assigned = okta("POST", f"/api/v1/apps/{NOTION}/users", {"id": JOHN, "scope": "USER"})
    assert assigned.status == 200
    assert assigned.body["id"] == JOHN
    assert assigned.body["scope"] == "USER"
    assert "Notion" in okta_sandbox.user_state(JOHN)["apps"]
    again = okta("POST", f"/api/v1/apps/{NOTION}/users", {"id": JOHN, "scope": "USER"})
    assert again.status == 200
    removed = okta("DELETE", f"/api/v1/apps/{NOTION}/users/{JOHN}")
    assert removed.status == 204
    assert "content-type" not in removed.headers
    assert "Notion" not in okta_sandbox.user_state(JOHN)["apps"]
    assert okta("DELETE", f"/api/v1/apps/{NOTION}/users/{JOHN}").status == 404


def test_apps_unassign_a_group_assigned_user_is_refused(okta: Any) -> None:
    response = okta("DELETE", f"/api/v1/apps/{SLACK}/users/{MAYA}")
    assert response.status == 403
    assert response.body["errorCode"] == "E0000006"


def test_apps_assign_validates_the_body(okta: Any) -> None:
    missing = okta("POST", f"/api/v1/apps/{NOTION}/users", {"scope": "USER"})
    assert missing.status == 400
    assert missing.body["errorCode"] == "E0000001"
    unknown = okta("POST", f"/api/v1/apps/{NOTION}/users", {"id": "00uNOPE0000000000000"})
    assert unknown.status == 404


def test_apps_groups_lists_group_assignments(okta: Any) -> None:
    groups = okta("GET", f"/api/v1/apps/{acme_app_id('Jira')}/groups").body
    assert {g["id"] for g in groups} == {acme_group_id("Engineering"), acme_group_id("Product")}
