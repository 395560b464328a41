"""Unit tests of okta/client.py against respx: every branch of pagination, errors and retries."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx
import pytest
import respx

from okta.client import (
    App,
    AppUser,
    EventHook,
    Group,
    LogEvent,
    OktaClient,
    OktaError,
    Role,
    User,
    parse_links,
)

ORG = "https://acme.okta.test"

USER = {
    "id": "00u1",
    "status": "ACTIVE",
    "created": "2024-01-02T03:04:05.000Z",
    "activated": "2024-01-02T03:04:06.000Z",
    "statusChanged": None,
    "lastLogin": "2025-05-01T10:00:00.000Z",
    "lastUpdated": "2025-05-02T10:00:00.000Z",
    "passwordChanged": "2025-04-01T10:00:00.000Z",
    "profile": {
        "login": "ada@acme.test",
        "email": "ada@acme.test",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "displayName": "Ada L.",
        "department": "Engineering",
        "title": "Engineer",
        "managerId": "00u0",
        "employeeNumber": "42",
    },
}


class Sleeps(list[float]):
    """Records what the client would have slept, without sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=ORG, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(sleeps: Sleeps) -> Any:
    c = OktaClient(ORG, token="secret-token", sleep=sleeps, max_retries=4, max_retry_seconds=600)
    yield c
    c.close()


def link(*pairs: tuple[str, str]) -> dict[str, str]:
    return {"Link": ", ".join(f'<{url}>; rel="{rel}"' for url, rel in pairs)}


# --- Link parsing ------------------------------------------------------------------------------


def test_parse_links_self_then_next() -> None:
    links = parse_links(
        [
            f'<{ORG}/api/v1/users?limit=2>; rel="self", <{ORG}/api/v1/users?after=x&limit=2>; rel="next"'
        ]
    )
    assert links == {
        "self": f"{ORG}/api/v1/users?limit=2",
        "next": f"{ORG}/api/v1/users?after=x&limit=2",
    }


def test_parse_links_separate_headers() -> None:
    links = parse_links([f'<{ORG}/a>; rel="self"', f"<{ORG}/b>; rel=next"])
    assert links["next"] == f"{ORG}/b"


def test_parse_links_none() -> None:
    assert parse_links([]) == {}
    assert parse_links([f'<{ORG}/a>; rel="self"']) == {"self": f"{ORG}/a"}


def test_parse_links_malformed_next_raises() -> None:
    with pytest.raises(OktaError, match="malformed Link"):
        parse_links([f'{ORG}/api/v1/users?after=x; rel="next"'])


def test_parse_links_malformed_self_is_ignored() -> None:
    assert parse_links(['garbage; rel="self"']) == {}


# --- Pagination --------------------------------------------------------------------------------


def test_iter_users_follows_next_links_to_the_end(client: OktaClient, mock: Any) -> None:
    u2 = {**USER, "id": "00u2"}
    mock.get("/api/v1/users", params={"after": "c1"}).respond(
        200, json=[u2], headers=link((f"{ORG}/api/v1/users?after=c1", "self"))
    )
    first = mock.get("/api/v1/users", params={"limit": "200"}).respond(
        200,
        json=[USER],
        headers=link(
            (f"{ORG}/api/v1/users?limit=200", "self"),
            (f"{ORG}/api/v1/users?after=c1&limit=200", "next"),
        ),
    )
    users = list(client.iter_users())
    assert [u.id for u in users] == ["00u1", "00u2"]
    assert first.calls.last.request.url.params["limit"] == "200"


def test_user_pages_yield_raw_dicts_with_cursor(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/users", params={"after": "c1"}).respond(200, json=[{"id": "00u2"}])
    mock.get("/api/v1/users").respond(
        200, json=[USER], headers=link((f"{ORG}/api/v1/users?after=c1&limit=200", "next"))
    )
    pages = list(client.user_pages())
    assert [len(p.items) for p in pages] == [1, 1]
    assert pages[0].items[0]["profile"]["login"] == "ada@acme.test"
    assert pages[0].after == "c1"
    assert pages[1].next_url is None


def test_log_pages_stop_on_empty_page_and_keep_cursor(client: OktaClient, mock: Any) -> None:
    event = {"uuid": "e1", "eventType": "user.session.start", "published": "2025-01-01T00:00:00Z"}
    mock.get("/api/v1/logs", params={"after": "p2"}).respond(
        200, json=[], headers=link((f"{ORG}/api/v1/logs?after=p2", "next"))
    )
    route = mock.get("/api/v1/logs").respond(
        200, json=[event], headers=link((f"{ORG}/api/v1/logs?after=p2", "next"))
    )
    pages = list(client.log_pages(since="2025-01-01T00:00:00Z"))
    assert len(pages) == 1
    assert pages[0].after == "p2"
    sent = route.calls[0].request.url.params
    assert sent["limit"] == "1000" and sent["since"] == "2025-01-01T00:00:00Z"
    assert sent["sortOrder"] == "ASCENDING"


def test_iter_pages_refuses_next_link_to_another_host(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/groups").respond(
        200, json=[], headers=link(("https://evil.test/api/v1/groups?after=x", "next"))
    )
    with pytest.raises(OktaError, match="another host"):
        list(client.iter_pages("/api/v1/groups", stop_on_empty=False))


def test_iter_pages_stops_when_next_repeats_itself(client: OktaClient, mock: Any) -> None:
    route = mock.get("/api/v1/apps").respond(
        200,
        json=[{"id": "0oa1", "label": "A"}],
        headers=link((f"{ORG}/api/v1/apps?limit=200", "next")),
    )
    assert [a.id for a in client.iter_apps()] == ["0oa1"]
    assert route.call_count == 1


def test_iter_user_apps_filters_by_user(client: OktaClient, mock: Any) -> None:
    route = mock.get("/api/v1/apps").respond(200, json=[{"id": "0oa1", "label": "Wiki"}])
    assert [a.label for a in client.iter_user_apps("00u1")] == ["Wiki"]
    assert route.calls[0].request.url.params["filter"] == 'user.id eq "00u1"'


def test_iter_role_assignees_follows_body_links(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/iam/assignees/users", params={"after": "z"}).respond(
        200, json={"value": [{"id": "00u2"}], "_links": {}}
    )
    mock.get("/api/v1/iam/assignees/users").respond(
        200,
        json={
            "value": [{"id": "00u1"}],
            "_links": {"next": {"href": f"{ORG}/api/v1/iam/assignees/users?after=z"}},
        },
    )
    assert list(client.iter_role_assignees()) == ["00u1", "00u2"]


# --- Errors and malformed bodies ---------------------------------------------------------------


def test_error_full_body_is_carried(client: OktaClient, mock: Any) -> None:
    mock.post("/api/v1/groups").respond(
        400,
        json={
            "errorCode": "E0000001",
            "errorSummary": "Api validation failed: name",
            "errorLink": "E0000001",
            "errorId": "oae1",
            "errorCauses": [{"errorSummary": "name: An object with this field already exists"}],
        },
        headers={"X-Okta-Request-Id": "req-1"},
    )
    mock.get("/api/v1/groups").respond(200, json=[])
    with pytest.raises(OktaError) as caught:
        client.create_group("Dup")
    err = caught.value
    assert err.status == 400
    assert err.error_code == "E0000001"
    assert err.error_summary == "Api validation failed: name"
    assert err.error_causes == ["name: An object with this field already exists"]
    assert err.request_id == "req-1"
    assert err.retryable is False
    assert "already exists" in str(err)


def test_error_partial_body(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/users/00u9").respond(404, json={"errorCode": "E0000007"})
    with pytest.raises(OktaError) as caught:
        client.get_user("00u9")
    assert caught.value.error_code == "E0000007"
    assert caught.value.is_not_found
    assert caught.value.error_summary == "HTTP 404 Not Found"


def test_error_html_body(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/users/00u1").respond(403, html="<html><body>Forbidden by proxy</body></html>")
    with pytest.raises(OktaError) as caught:
        client.get_user("00u1")
    assert caught.value.status == 403
    assert caught.value.error_code == ""
    assert "403" in caught.value.message


def test_error_empty_body(client: OktaClient, mock: Any) -> None:
    mock.delete("/api/v1/groups/00g1/users/00u1").respond(400)
    with pytest.raises(OktaError) as caught:
        client.remove_group_member("00g1", "00u1")
    assert caught.value.status == 400 and caught.value.error_code == ""


def test_malformed_json_in_200_raises_okta_error(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/users/00u1").respond(
        200, content=b'{"id": "00u1", ', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(OktaError, match="not JSON"):
        client.get_user("00u1")


def test_wrong_shape_in_200_raises_okta_error(client: OktaClient, mock: Any) -> None:
    mock.get("/api/v1/users/00u1").respond(200, json=["not", "a", "user"])
    with pytest.raises(OktaError, match="malformed user"):
        client.get_user("00u1")
    mock.get("/api/v1/groups").respond(200, json={"not": "a list"})
    with pytest.raises(OktaError, match="expected a list"):
        list(client.iter_groups())
    mock.get("/api/v1/apps").respond(200, json=[{"id": "0oa1"}, "stray"])
    with pytest.raises(OktaError, match="list of objects"):
        list(client.app_pages())
    mock.get("/api/v1/iam/assignees/users").respond(200, json={"value": [], "_links": ["next"]})
    with pytest.raises(OktaError, match="malformed role assignees"):
        list(client.iter_role_assignees())


def test_bad_timestamp_raises_okta_error() -> None:
    with pytest.raises(OktaError, match="timestamp"):
        User.from_json({**USER, "created": "yesterday"})


def test_invalid_path_id_is_refused_without_a_request(client: OktaClient, mock: Any) -> None:
    with pytest.raises(OktaError, match="valid Okta id"):
        client.get_user("../groups")
    assert not mock.calls


# --- Typed results -----------------------------------------------------------------------------


def test_user_from_json_full() -> None:
    user = User.from_json(USER)
    assert (user.login, user.department, user.manager_id, user.employee_number) == (
        "ada@acme.test",
        "Engineering",
        "00u0",
        "42",
    )
    assert user.last_login is not None and user.last_login.year == 2025
    assert user.status_changed is None
    with pytest.raises(AttributeError):
        user.status = "SUSPENDED"  # type: ignore[misc]


def test_results_from_json_tolerate_missing_optional_fields() -> None:
    assert User.from_json({"id": "00u1"}).login == ""
    assert Group.from_json({"id": "00g1"}).last_membership_updated is None
    assert App.from_json({"id": "0oa1"}).sign_on_mode == ""
    assert AppUser.from_json({"id": "00u1"}).scope == "USER"
    assert Role.from_json({"id": "ra1", "type": "SUPER_ADMIN"}).assignment_type == ""
    assert LogEvent.from_json({"uuid": "e1"}).targets == []
    assert EventHook.from_json({"id": "who1"}).events == []


def test_log_event_from_json() -> None:
    event = LogEvent.from_json(
        {
            "uuid": "e1",
            "eventType": "group.user_membership.add",
            "published": "2025-01-01T00:00:00.000Z",
            "actor": {"id": "00u0", "type": "User"},
            "target": [{"id": "00u1", "type": "User"}, {"id": "00g1", "type": "UserGroup"}],
            "outcome": {"result": "SUCCESS"},
            "displayMessage": "Add user to group membership",
        }
    )
    assert event.outcome == "SUCCESS"
    assert [t["id"] for t in event.targets] == ["00u1", "00g1"]


# --- Retries -----------------------------------------------------------------------------------


def test_429_waits_until_reset_then_succeeds(client: OktaClient, mock: Any, sleeps: Sleeps) -> None:
    now = time.time()
    route = mock.get("/api/v1/users/00u1")
    route.side_effect = [
        httpx.Response(
            429,
            json={"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"},
            headers={
                "X-Rate-Limit-Limit": "600",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(int(now) + 30),
                "Date": email.utils.formatdate(int(now), usegmt=True),
            },
        ),
        httpx.Response(200, json=USER),
    ]
    assert client.get_user("00u1").id == "00u1"
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert 30 <= sleeps[0] <= 31.5  # until the reset, plus a second of clock slack and jitter


def test_5xx_then_success(client: OktaClient, mock: Any, sleeps: Sleeps) -> None:
    route = mock.get("/api/v1/groups/00g1")
    route.side_effect = [
        httpx.Response(503, text="unavailable"),
        httpx.Response(500, json={"errorCode": "E0000009", "errorSummary": "Internal"}),
        httpx.Response(200, json={"id": "00g1", "type": "OKTA_GROUP", "profile": {"name": "G"}}),
    ]
    assert client.get_group("00g1").name == "G"
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # jittered, growing


def test_timeout_then_success(client: OktaClient, mock: Any) -> None:
    route = mock.get("/api/v1/apps/0oa1")
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json={"id": "0oa1"})]
    assert client.get_app("0oa1").id == "0oa1"
    assert route.call_count == 2


def test_dropped_connection_then_success(client: OktaClient, mock: Any) -> None:
    route = mock.put("/api/v1/groups/00g1/users/00u1")
    route.side_effect = [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("Connection refused"),
        httpx.Response(204),
    ]
    client.add_group_member("00g1", "00u1")
    assert route.call_count == 3


def test_retries_give_up_with_a_retryable_error(client: OktaClient, mock: Any) -> None:
    route = mock.get("/api/v1/users/00u1").respond(502, text="bad gateway")
    with pytest.raises(OktaError) as caught:
        client.get_user("00u1")
    assert caught.value.retryable and caught.value.status == 502
    assert route.call_count == 5  # one try and max_retries=4 retries


def test_timeout_error_is_retryable_without_status(mock: Any, sleeps: Sleeps) -> None:
    client = OktaClient(ORG, token="t", sleep=sleeps, max_retries=0)
    mock.get("/api/v1/users/00u1").side_effect = httpx.ConnectTimeout("no route")
    with pytest.raises(OktaError) as caught:
        client.get_user("00u1")
    assert caught.value.retryable and caught.value.status is None


def test_retries_stop_at_the_total_time_budget(mock: Any, sleeps: Sleeps) -> None:
    client = OktaClient(ORG, token="t", sleep=sleeps, max_retries=10, max_retry_seconds=20)
    now = int(time.time())
    route = mock.get("/api/v1/users/00u1").respond(
        429, headers={"X-Rate-Limit-Reset": str(now + 60), "Date": email.utils.formatdate(now)}
    )
    with pytest.raises(OktaError) as caught:
        client.get_user("00u1")
    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert route.call_count == 1 and sleeps == []  # waiting 60 s would exceed the 20 s budget


def test_4xx_is_not_retried(client: OktaClient, mock: Any, sleeps: Sleeps) -> None:
    route = mock.post("/api/v1/users/00u1/lifecycle/suspend").respond(
        400,
        json={"errorCode": "E0000001", "errorSummary": "Cannot suspend a user that is not active"},
    )
    with pytest.raises(OktaError, match="not active"):
        client.suspend_user("00u1")
    assert route.call_count == 1 and sleeps == []


def test_create_user_after_failure_finds_the_user_instead_of_posting_again(
    client: OktaClient, mock: Any
) -> None:
    post = mock.post("/api/v1/users").mock(side_effect=httpx.ReadTimeout("lost answer"))
    lookup = mock.get("/api/v1/users/ada@acme.test").respond(200, json=USER)
    user = client.create_user({"login": "ada@acme.test", "email": "ada@acme.test"})
    assert user.id == "00u1"
    assert post.call_count == 1 and lookup.call_count == 1


def test_create_user_after_failure_posts_again_when_user_absent(
    client: OktaClient, mock: Any
) -> None:
    post = mock.post("/api/v1/users")
    post.side_effect = [httpx.Response(503), httpx.Response(200, json=USER)]
    mock.get("/api/v1/users/ada@acme.test").respond(404, json={"errorCode": "E0000007"})
    user = client.create_user({"login": "ada@acme.test"}, activate=False)
    assert user.id == "00u1" and post.call_count == 2
    assert post.calls[0].request.url.params["activate"] == "false"


def test_create_group_checks_name_after_failure(client: OktaClient, mock: Any) -> None:
    mock.post("/api/v1/groups").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    mock.get("/api/v1/groups").respond(
        200,
        json=[
            {"id": "00gA", "type": "OKTA_GROUP", "profile": {"name": "Eng-Leads"}},
            {"id": "00gB", "type": "OKTA_GROUP", "profile": {"name": "Eng"}},
        ],
    )
    assert client.create_group("Eng").id == "00gB"


# --- Calls -------------------------------------------------------------------------------------


def test_ssws_header_accepts_prefix_with_or_without_space(mock: Any) -> None:
    route = mock.get("/api/v1/users/me").respond(200, json=USER)
    for token in ("abc", "SSWS abc", "SSWSabc"):
        OktaClient(ORG, token=token).get_user("me")
    assert {c.request.headers["Authorization"] for c in route.calls} == {"SSWS abc"}


def test_reset_password_returns_url_when_not_emailed(client: OktaClient, mock: Any) -> None:
    route = mock.post("/api/v1/users/00u1/lifecycle/reset_password").respond(
        200, json={"resetPasswordUrl": f"{ORG}/reset/abc"}
    )
    assert client.reset_password("00u1", send_email=False) == f"{ORG}/reset/abc"
    assert route.calls[0].request.url.params["sendEmail"] == "false"


def test_expire_password_with_temp_password_returns_it(client: OktaClient, mock: Any) -> None:
    mock.post("/api/v1/users/00u1/lifecycle/expire_password_with_temp_password").respond(
        200, json={"tempPassword": "Tmp-123"}
    )
    assert client.expire_password_with_temp_password("00u1") == "Tmp-123"


def test_lifecycle_post_with_empty_body_is_fine(client: OktaClient, mock: Any) -> None:
    mock.post("/api/v1/users/00u1/lifecycle/unlock").respond(200, json={})
    mock.post("/api/v1/users/00u1/lifecycle/suspend").respond(200)
    client.unlock_user("00u1")
    client.suspend_user("00u1")


def test_clear_sessions_revokes_oauth_tokens(client: OktaClient, mock: Any) -> None:
    route = mock.delete("/api/v1/users/00u1/sessions").respond(204)
    client.clear_sessions("00u1")
    assert route.calls[0].request.url.params["oauthTokens"] == "true"


def test_assign_app_user_sends_id_and_scope(client: OktaClient, mock: Any) -> None:
    route = mock.post("/api/v1/apps/0oa1/users").respond(
        200, json={"id": "00u1", "scope": "USER", "status": "PROVISIONED"}
    )
    assert client.assign_app_user("0oa1", "00u1").status == "PROVISIONED"
    assert json.loads(route.calls[0].request.content) == {"id": "00u1", "scope": "USER"}


def test_delete_group_treats_404_as_done(client: OktaClient, mock: Any) -> None:
    mock.delete("/api/v1/groups/00g1").respond(404, json={"errorCode": "E0000007"})
    client.delete_group("00g1")


def test_event_hook_create_and_lifecycle(client: OktaClient, mock: Any) -> None:
    hook = {
        "id": "who1",
        "name": "Gatehouse",
        "status": "ACTIVE",
        "verificationStatus": "UNVERIFIED",
        "events": {"type": "EVENT_TYPE", "items": ["group.user_membership.add"]},
        "channel": {"type": "HTTP", "config": {"uri": "https://gh.test/hooks/okta"}},
    }
    create = mock.post("/api/v1/eventHooks").respond(200, json=hook)
    mock.post("/api/v1/eventHooks/who1/lifecycle/verify").respond(
        200, json={**hook, "verificationStatus": "VERIFIED"}
    )
    created = client.create_event_hook(
        name="Gatehouse",
        url="https://gh.test/hooks/okta",
        events=["group.user_membership.add"],
        auth_value="s3cret",
    )
    assert created.url == "https://gh.test/hooks/okta"
    sent = json.loads(create.calls[0].request.content)
    assert sent["channel"]["config"]["authScheme"] == {
        "type": "HEADER",
        "key": "Authorization",
        "value": "s3cret",
    }
    assert client.verify_event_hook("who1").verification_status == "VERIFIED"


def test_client_refuses_bad_configuration() -> None:
    with pytest.raises(OktaError, match="not a URL"):
        OktaClient("acme.okta.com", token="t")
    with pytest.raises(OktaError, match="credentials are missing"):
        OktaClient(ORG)
    with pytest.raises(OktaError, match="private key cannot be read"):
        OktaClient(ORG, client_id="0oa1", private_key="not a key")
