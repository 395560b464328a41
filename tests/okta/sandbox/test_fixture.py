"""The pytest fixtures others use: a running acme sandbox, reset per test, settings pointed at it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from okta.sandbox.seed import acme_user_id


def test_okta_sandbox_fixture_points_settings_at_the_server(okta_sandbox: Any) -> None:
    assert okta_sandbox.url == settings.OKTA_ORG_URL
    assert okta_sandbox.token == settings.OKTA_API_TOKEN
    response = okta_sandbox.api("GET", "/api/v1/users/maya.chen@acme.com")
    assert response.status == 200
    assert response.body["id"] == acme_user_id("maya.chen@acme.com")


def test_okta_sandbox_fixture_resets_changes_between_tests_first(okta_sandbox: Any) -> None:
    uid = acme_user_id("maya.chen@acme.com")
    assert okta_sandbox.api("POST", f"/api/v1/users/{uid}/lifecycle/suspend").status == 200
    assert okta_sandbox.user_state(uid)["status"] == "SUSPENDED"


def test_okta_sandbox_fixture_resets_changes_between_tests_second(okta_sandbox: Any) -> None:
    assert okta_sandbox.user_state("maya.chen@acme.com")["status"] == "ACTIVE"
