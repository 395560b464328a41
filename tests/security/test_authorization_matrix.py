"""Every URL pattern in the URLconf by every portal role, with the outcome each role must get.

The table is the specification: ``EXPECTED`` maps each URL name to the method the test uses and
one outcome per role, in the order of ``ROLES``:

    anonymous  employee  other  manager  approver  helpdesk  admin  auditor

Outcomes: ``ok`` (2xx, or a redirect that is not to sign-in), ``login`` (redirected to sign in),
``deny`` (403), ``404`` (the object is not shown to this person, or the page does not exist for
them), ``bad`` (400: the request itself is refused). Objects in the URLs belong to maya (the
employee), so "other" (stan, another employee) must get 404 on every one of them.

A URL added to the URLconf without a line here fails ``test_matrix_covers_every_url``: add the
line (and, when the URL takes new parameters, teach ``tests/security/urlconf.py`` which of the
world's objects to put in them).
"""

from __future__ import annotations

import pytest
from django.http.response import HttpResponseBase
from django.urls import reverse

from tests.security.conftest import ROLES, World
from tests.security.urlconf import routes, url_for

# name: (method, "anonymous employee other manager approver helpdesk admin auditor")
EXPECTED: dict[str, tuple[str, str]] = {
    # portal
    "home": ("GET", "login ok ok ok ok ok ok ok"),
    "login": ("GET", "ok ok ok ok ok ok ok ok"),
    "logout": ("POST", "login login login login login login login login"),
    "signin_refused": ("GET", "deny deny deny deny deny deny deny deny"),
    "oidc_authentication_callback": ("GET", "ok ok ok ok ok ok ok ok"),
    "oidc_authentication_init": ("GET", "ok ok ok ok ok ok ok ok"),
    "oidc_logout": ("POST", "login login login login login login login login"),
    "healthz": ("GET", "ok ok ok ok ok ok ok ok"),
    # approvals: everyone signed in may browse and request; maya's request is seen by her,
    # her manager (the approver of its stage) and admins; admin pages are 404 to the rest.
    "approvals:catalog": ("GET", "login ok ok ok ok ok ok ok"),
    "approvals:request_new": ("GET", "login ok ok ok ok ok ok ok"),
    "approvals:my_requests": ("GET", "login ok ok ok ok ok ok ok"),
    "approvals:request_detail": ("GET", "login ok 404 ok 404 404 ok 404"),
    "approvals:request_cancel": ("POST", "login ok 404 404 404 404 404 404"),
    "approvals:request_decide": ("POST", "login 404 404 ok 404 404 ok 404"),
    "approvals:request_retry": ("POST", "login 404 404 404 404 404 ok 404"),
    "approvals:request_subject_access": ("GET", "login 404 404 ok 404 404 ok 404"),
    "approvals:inbox": ("GET", "login ok ok ok ok ok ok ok"),
    "approvals:inbox_bulk": ("POST", "login ok ok ok ok ok ok ok"),
    "approvals:my_access": ("GET", "login ok ok ok ok ok ok ok"),
    "approvals:relinquish": ("POST", "login 404 404 404 404 404 404 404"),
    "approvals:grant_extend": ("GET", "login ok 404 ok 404 404 404 404"),
    "approvals:grant_retry": ("POST", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_catalog": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_item_new": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_item_edit": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_item_publish": ("POST", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_policies": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_policy_new": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_policy_edit": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:operations": ("GET", "login 404 404 404 404 404 ok 404"),
    "approvals:admin_grants": ("GET", "login 404 404 404 404 404 ok 404"),
    # GET is the confirmation page; its POST is refused to non-admins with 404 too
    # (tests/approvals/test_admin_grants.py), and test_csrf / test_bad_input post to it.
    "approvals:admin_grant_end": ("GET", "login 404 404 404 404 404 ok 404"),
    # okta: the directory is for helpdesk and admins; the connection and sync for admins only.
    "okta:user_list": ("GET", "login deny deny deny deny ok ok deny"),
    "okta:user_detail": ("GET", "login 404 404 404 404 ok ok 404"),
    "okta:user_events": ("GET", "login 404 404 404 404 ok ok 404"),
    "okta:group_list": ("GET", "login deny deny deny deny ok ok deny"),
    "okta:group_detail": ("GET", "login 404 404 404 404 ok ok 404"),
    "okta:app_list": ("GET", "login deny deny deny deny ok ok deny"),
    "okta:app_detail": ("GET", "login 404 404 404 404 ok ok 404"),
    "okta:connection": ("GET", "login deny deny deny deny deny ok deny"),
    "okta:scope_update": ("POST", "login deny deny deny deny deny ok deny"),
    "okta:event_hook_register": ("POST", "login deny deny deny deny deny ok deny"),
    "okta:sync": ("GET", "login deny deny deny deny deny ok deny"),
    "okta:sync_start": ("POST", "login deny deny deny deny deny ok deny"),
    "okta:sync_run": ("GET", "login deny deny deny deny deny ok deny"),
    # Okta's one-time verification GET without its challenge header: refused for everyone
    # (the hook authenticates Okta by its shared secret, not by a session).
    "okta:event_hook": ("GET", "bad bad bad bad bad bad bad bad"),
    # audit: auditors and admins.
    "audit:list": ("GET", "login deny deny deny deny deny ok ok"),
    "audit:detail": ("GET", "login deny deny deny deny deny ok ok"),
    "audit:export": ("GET", "login deny deny deny deny deny ok ok"),
    "audit:verify": ("POST", "login deny deny deny deny deny ok ok"),
    "audit:verification": ("GET", "login deny deny deny deny deny ok ok"),
    # identity: self-service for everyone; maya's person page for her, her manager, helpdesk
    # and admins; her action request for her and admins; admin pages for admins.
    "identity:my_account": ("GET", "login ok ok ok ok ok ok ok"),
    "identity:people": ("GET", "login deny deny ok deny ok ok deny"),
    "identity:person": ("GET", "login ok 404 ok 404 ok ok 404"),
    "identity:person_act": ("POST", "login ok 404 ok 404 ok ok 404"),
    # the confirmation step of a password reset link for maya: nobody confirms on themselves
    "identity:person_confirm": ("GET", "login 404 404 ok 404 ok ok 404"),
    "identity:person_profile": ("POST", "login ok 404 ok 404 ok ok 404"),
    "identity:action_detail": ("GET", "login ok 404 404 404 404 ok 404"),
    "identity:action_reveal": ("POST", "login ok 404 404 404 404 404 404"),
    "identity:user_create": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:groups": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:group": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:group_change": ("POST", "login deny deny deny deny deny ok deny"),
    "identity:group_members": ("POST", "login deny deny deny deny deny ok deny"),
    "identity:apps": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:app": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:bulk": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:pick": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:bulk_runs": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:bulk_run": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:bulk_run_confirm": ("POST", "login deny deny deny deny deny ok deny"),
    "identity:bulk_run_retry": ("POST", "login deny deny deny deny deny ok deny"),
    "identity:policies": ("GET", "login deny deny deny deny deny ok deny"),
    "identity:policy_edit": ("POST", "login deny deny deny deny deny ok deny"),
    "identity:admin_roles": ("GET", "login deny deny deny deny deny ok ok"),
    # reviews: everyone signed in has a (possibly empty) review page; the review of maya's
    # access is decided by her manager; campaigns for admins, their reports also for auditors.
    "reviews:mine": ("GET", "login ok ok ok ok ok ok ok"),
    "reviews:item_decide": ("POST", "login 404 404 ok 404 404 404 404"),
    "reviews:item_delegate": ("POST", "login 404 404 ok 404 404 404 404"),
    "reviews:bulk": ("POST", "login ok ok ok ok ok ok ok"),
    "reviews:campaigns": ("GET", "login 404 404 404 404 404 ok ok"),
    "reviews:campaign_new": ("GET", "login 404 404 404 404 404 ok 404"),
    "reviews:campaign_detail": ("GET", "login 404 404 404 404 404 ok ok"),
    "reviews:campaign_end": ("POST", "login 404 404 404 404 404 ok 404"),
    "reviews:campaign_export": ("GET", "login 404 404 404 404 404 ok ok"),
    # assistant: everyone signed in may ask; what is asked is checked by the services it calls
    # (tests/assistant). A confirmation without a sentence is refused as bad input.
    "assistant:ask": ("GET", "login ok ok ok ok ok ok ok"),
    "assistant:confirm": ("POST", "login bad bad bad bad bad bad bad"),
    "assistant:report_csv": ("GET", "login ok ok ok ok ok ok ok"),
    # chat: Slack's interactivity endpoint, authenticated by Slack's signature, not a session;
    # with Slack not configured (as here) it does not exist for anyone. Configured, an unsigned
    # POST is 401 for everyone (tests/chat/test_slack.py).
    "chat:slack_interactions": ("POST", "404 404 404 404 404 404 404 404"),
    # API tokens: everyone signed in has the page; maya's token is revoked by her or an admin.
    "api_tokens:list": ("GET", "login ok ok ok ok ok ok ok"),
    "api_tokens:revoke": ("POST", "login ok 404 404 404 404 ok 404"),
    # The REST API takes bearer tokens only: a session (or none) is 401 on every route; what a
    # token may do, role by role, is tests/security/test_api_matrix.py. The schema is
    # public (it describes the API and holds no data).
    "api:api-root": ("GET", "404 404 404 404 404 404 404 404"),
    "api:openapi-json": ("GET", "ok ok ok ok ok ok ok ok"),
    "api:catalog_list": ("GET", "401 401 401 401 401 401 401 401"),
    "api:request_list": ("GET", "401 401 401 401 401 401 401 401"),
    "api:request_submit": ("POST", "401 401 401 401 401 401 401 401"),
    "api:request_detail": ("GET", "401 401 401 401 401 401 401 401"),
    "api:request_withdraw": ("POST", "401 401 401 401 401 401 401 401"),
    "api:inbox_list": ("GET", "401 401 401 401 401 401 401 401"),
    "api:request_decide": ("POST", "401 401 401 401 401 401 401 401"),
    "api:my_access": ("GET", "401 401 401 401 401 401 401 401"),
    "api:grant_list": ("GET", "401 401 401 401 401 401 401 401"),
    "api:audit_events": ("GET", "401 401 401 401 401 401 401 401"),
    "api:operation_list": ("GET", "401 401 401 401 401 401 401 401"),
}

# Query strings a page needs to address an object (the catalog's "new item" form takes the
# Okta group it publishes).
QUERY: dict[str, str] = {
    "approvals:admin_item_new": "?group={group_id}",
    "identity:pick": "?name=group_id&id=id_group_id&group_id_q=a",
    "identity:person_confirm": "?action=password_reset&variant=email",
    "assistant:report_csv": "?q=show+me+every+app+I+have+access+to",
}


def outcome(response: HttpResponseBase) -> str:
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        to_signin = location.startswith(reverse("login")) or location.startswith("/oidc/")
        return "login" if to_signin else "ok"
    named = {400: "bad", 401: "401", 403: "deny", 404: "404", 405: "405"}
    if response.status_code in named:
        return named[response.status_code]
    return "ok" if 200 <= response.status_code < 300 else str(response.status_code)


def address(name: str, world: World) -> str:
    route = next(r for r in routes() if r.name == name)
    query = QUERY.get(name, "").format(group_id=world.item.group_id)
    return url_for(route, world) + query


def test_matrix_covers_every_url() -> None:
    in_urlconf = {route.name for route in routes()}
    missing = sorted(in_urlconf - set(EXPECTED))
    stale = sorted(set(EXPECTED) - in_urlconf)
    assert not missing, f"URLs without an authorization entry in {__name__}: {missing}"
    assert not stale, f"entries for URLs that no longer exist: {stale}"
    for name, (method, outcomes) in EXPECTED.items():
        assert method in ("GET", "POST"), name
        assert len(outcomes.split()) == len(ROLES), name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_url_access_by_role(name: str, world: World) -> None:
    method, outcomes = EXPECTED[name]
    url = address(name, world)
    got: dict[str, str] = {}
    for role in ROLES:
        client = world.client(role)
        response = client.get(url) if method == "GET" else client.post(url, {})
        got[role] = outcome(response)
    want = dict(zip(ROLES, outcomes.split(), strict=True))
    wrong = {
        role: f"got {got[role]}, want {want[role]}" for role in ROLES if got[role] != want[role]
    }
    assert not wrong, f"{method} {url}: {wrong}"
