"""The REST API over HTTP (Django's test client through the whole middleware stack): tokens,
scopes, each route's happy path, someone else's objects, bad input, rate limits, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from api.tokens import token_create
from approvals.models import AccessRequest, CatalogItem, Grant, RequestStatus
from audit.models import AuditEvent
from core.errors import ServiceError
from okta.models import Operation
from tests.approvals.conftest import ensure_default_policies, item_make
from tests.world import Cast

pytestmark = pytest.mark.django_db

EVERY_SCOPE = [
    "catalog:read",
    "requests:read",
    "requests:write",
    "inbox:read",
    "inbox:decide",
    "access:read",
    "grants:read",
    "audit:read",
    "operations:read",
]


@pytest.fixture
def item(cast: Cast) -> CatalogItem:
    ensure_default_policies()
    return item_make("Engineering - Backend", policy="Manager approval")


def bearer(cast: Cast, who: str, scopes: list[str] | None = None, kind: str = "personal") -> str:
    _, raw = token_create(
        actor=cast.u[who], name=f"{who}'s script", kind=kind, scopes=scopes or EVERY_SCOPE, days=30
    )
    return raw


def call(method: str, path: str, raw: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {raw}"} if raw is not None else {}
    client = Client()
    if method == "GET":
        return client.get(f"/api/v1{path}", headers=headers)
    return client.post(
        f"/api/v1{path}",
        data=body if body is not None else {},
        content_type="application/json",
        headers=headers,
    )


# --- tokens ----------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_a_digest(cast: Cast) -> None:
    token, raw = token_create(
        actor=cast.u["maya"], name="laptop", kind="personal", scopes=["catalog:read"], days=7
    )
    assert raw.startswith(f"gh_{token.prefix}_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in str(vars(stored)) and len(stored.digest) == 64
    assert AuditEvent.objects.filter(action="api.token_created", target_id=str(token.pk)).exists()


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nonsense", "Bearer gh_aaaaaaaaaaaa_" + "x" * 43, "Basic dXNlcjpwYXNz"],
)
def test_calls_without_a_valid_token_are_401(cast: Cast, item: CatalogItem, header: str) -> None:
    response = Client().get("/api/v1/catalog", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("A valid bearer token")


def test_a_revoked_token_stops_working(cast: Cast, item: CatalogItem) -> None:
    raw = bearer(cast, "maya")
    assert call("GET", "/catalog", raw).status_code == 200
    token = ApiToken.objects.get()
    client = Client()
    client.force_login(cast.u["maya"])
    response = client.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert call("GET", "/catalog", raw).status_code == 401
    assert AuditEvent.objects.filter(action="api.token_revoked").count() == 1


def test_an_expired_token_stops_working(cast: Cast, item: CatalogItem) -> None:
    raw = bearer(cast, "maya")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call("GET", "/catalog", raw).status_code == 401


def test_a_token_of_someone_whose_sessions_ended_stops_working(
    cast: Cast, item: CatalogItem
) -> None:
    raw = bearer(cast, "maya")
    cast.u["maya"].is_active = False
    cast.u["maya"].save()
    assert call("GET", "/catalog", raw).status_code == 401


def test_only_admins_make_service_tokens(cast: Cast) -> None:
    with pytest.raises(ServiceError, match="Only admins"):
        token_create(
            actor=cast.u["maya"], name="x", kind="service", scopes=["catalog:read"], days=1
        )
    token, _ = token_create(
        actor=cast.u["sam"], name="ServiceNow", kind="service", scopes=["catalog:read"], days=1
    )
    assert token.kind == "service"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name of 1 to 100"),
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["root"]}, "Unknown scope: root"),
        ({"days": 0}, "1 to 365 days"),
        ({"days": 366}, "1 to 365 days"),
    ],
)
def test_bad_token_requests_are_refused_and_make_nothing(
    cast: Cast, fields: dict[str, Any], message: str
) -> None:
    wanted = {"name": "ok", "kind": "personal", "scopes": ["catalog:read"], "days": 30, **fields}
    with pytest.raises(ServiceError, match=message):
        token_create(actor=cast.u["maya"], **wanted)
    assert not ApiToken.objects.exists()


def test_the_tokens_page_makes_shows_once_and_revokes(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.u["maya"])
    response = client.post(
        "/account/tokens/",
        {"name": "jira", "kind": "personal", "scopes": ["catalog:read"], "days": 30},
    )
    assert response.status_code == 200
    page = response.content.decode()
    token = ApiToken.objects.get()
    assert 'data-testid="token-secret"' in page and f"gh_{token.prefix}_" in page
    again = client.get("/account/tokens/").content.decode()
    assert 'data-testid="token-secret"' not in again and "jira" in again

    refused = client.post("/account/tokens/", {"name": "", "scopes": [], "days": 0})
    assert refused.status_code == 400 and ApiToken.objects.count() == 1


def test_someone_elses_token_cannot_be_revoked(cast: Cast) -> None:
    bearer(cast, "maya")
    token = ApiToken.objects.get()
    client = Client()
    client.force_login(cast.u["stan"])
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


# --- scopes and routes -----------------------------------------------------------------------


def test_a_token_without_the_scope_is_refused(cast: Cast, item: CatalogItem) -> None:
    raw = bearer(cast, "maya", scopes=["requests:read"])
    response = call("GET", "/catalog", raw)
    assert response.status_code == 403
    assert "catalog:read" in response.json()["detail"]


def test_catalog_lists_published_items_with_keyset_paging(cast: Cast, item: CatalogItem) -> None:
    hidden = item_make("Finance - Ledger", published=False)
    raw = bearer(cast, "maya")
    body = call("GET", "/catalog", raw).json()
    assert [i["name"] for i in body["items"]] == ["Engineering - Backend"]
    assert body["next"] is None
    assert hidden.pk not in [i["id"] for i in body["items"]]
    assert call("GET", "/catalog?q=ledger", raw).json()["items"] == []


def test_submit_then_manager_approves_through_the_inbox(cast: Cast, item: CatalogItem) -> None:
    maya, priya = bearer(cast, "maya"), bearer(cast, "priya")
    response = call(
        "POST", "/requests", maya, {"item_id": item.pk, "reason": "on-call", "duration_days": 30}
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == RequestStatus.PENDING and created["subject_id"] == cast.id["maya"]

    assert [r["id"] for r in call("GET", "/requests", maya).json()["items"]] == [created["id"]]
    assert [r["id"] for r in call("GET", "/inbox", priya).json()["items"]] == [created["id"]]
    assert call("GET", "/inbox", maya).json()["items"] == []

    decided = call("POST", f"/requests/{created['id']}/decision", priya, {"outcome": "approve"})
    assert decided.status_code == 200, decided.content
    req = AccessRequest.objects.get(pk=created["id"])
    assert req.status == RequestStatus.APPROVED
    assert Operation.objects.filter(correlation__contains=str(req.pk)).exists()
    assert AuditEvent.objects.filter(action="api.call", actor=cast.u["priya"].username).exists()


def test_requester_cannot_approve_their_own_request(cast: Cast, item: CatalogItem) -> None:
    maya = bearer(cast, "maya")
    created = call(
        "POST", "/requests", maya, {"item_id": item.pk, "reason": "on-call", "duration_days": 30}
    ).json()
    response = call("POST", f"/requests/{created['id']}/decision", maya, {"outcome": "approve"})
    assert response.status_code == 404  # not routed to her: as the page answers
    assert AccessRequest.objects.get(pk=created["id"]).status == RequestStatus.PENDING


def test_withdraw_a_pending_request(cast: Cast, item: CatalogItem) -> None:
    maya = bearer(cast, "maya")
    created = call(
        "POST", "/requests", maya, {"item_id": item.pk, "reason": "on-call", "duration_days": 30}
    ).json()
    response = call("POST", f"/requests/{created['id']}/withdraw", maya)
    assert response.status_code == 200 and response.json()["status"] == RequestStatus.CANCELLED


def test_someone_elses_request_is_404_everywhere(cast: Cast, item: CatalogItem) -> None:
    maya, stan = bearer(cast, "maya"), bearer(cast, "stan")
    created = call(
        "POST", "/requests", maya, {"item_id": item.pk, "reason": "on-call", "duration_days": 30}
    ).json()
    for method, path, body in [
        ("GET", f"/requests/{created['id']}", None),
        ("POST", f"/requests/{created['id']}/withdraw", None),
        ("POST", f"/requests/{created['id']}/decision", {"outcome": "deny"}),
    ]:
        assert call(method, path, stan, body).status_code == 404, path
    assert AccessRequest.objects.get(pk=created["id"]).status == RequestStatus.PENDING


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"item_id": "one"}, 422),
        ({"item_id": 10**12}, 404),
        ({"item_id": 1, "duration_days": -5}, 422),
        ({"item_id": 1, "reason": "x" * 5000}, 422),
    ],
)
def test_bad_submissions_are_refused_and_change_nothing(
    cast: Cast, item: CatalogItem, body: dict[str, Any], status: int
) -> None:
    response = call("POST", "/requests", bearer(cast, "maya"), body)
    assert response.status_code == status
    assert "detail" in response.json()
    assert not AccessRequest.objects.exists()


def test_a_refusal_of_the_service_is_a_400_with_its_sentence(cast: Cast, item: CatalogItem) -> None:
    response = call("POST", "/requests", bearer(cast, "maya"), {"item_id": item.pk, "reason": ""})
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not AccessRequest.objects.exists()


def test_my_access_lists_my_grants(cast: Cast, item: CatalogItem) -> None:
    req = AccessRequest.objects.create(
        item=item,
        requester=cast.u["maya"],
        subject_id=cast.id["maya"],
        subject_label="Maya Chen",
        status=RequestStatus.COMPLETED,
        policy_name="Manager approval",
        pending_until=timezone.now(),
    )
    Grant.objects.create(request=req, item=item, subject_id=cast.id["maya"])
    body = call("GET", "/access", bearer(cast, "maya")).json()
    assert [g["item"] for g in body["items"]] == ["Engineering - Backend"]
    assert call("GET", "/access", bearer(cast, "stan")).json()["items"] == []


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/grants", "sam"), ("/operations", "sam"), ("/audit/events", "tessa")],
)
def test_admin_and_auditor_routes_need_the_owners_permission(
    cast: Cast, path: str, allowed: str
) -> None:
    assert call("GET", path, bearer(cast, allowed)).status_code == 200
    for who in ("maya", "jordan", "stan"):
        assert call("GET", path, bearer(cast, who)).status_code == 403, who


def test_audit_events_page_newest_first_and_filter(cast: Cast) -> None:
    tessa = bearer(cast, "tessa")
    body = call("GET", "/audit/events?action=api.*", tessa).json()
    # tessa's token was made: api.token_created is there, and only api.* events are
    assert body["items"] and all(e["action"].startswith("api.") for e in body["items"])
    call("GET", "/catalog", tessa)
    body = call("GET", "/audit/events?action=api.call", tessa).json()
    assert body["items"][0]["detail"]["via"] == "tessa's script"
    assert body["items"][0]["detail"]["path"] == "/api/v1/catalog"
    ids = [e["id"] for e in call("GET", "/audit/events", tessa).json()["items"]]
    assert ids == sorted(ids, reverse=True)


def test_every_call_is_audited_with_the_tokens_name(cast: Cast, item: CatalogItem) -> None:
    call("GET", "/catalog", bearer(cast, "maya"))
    event = AuditEvent.objects.get(action="api.call")
    assert event.actor == cast.u["maya"].username
    assert event.detail["via"] == "maya's script" and event.detail["status"] == 200
    assert event.target_type == "api_token"


def test_each_token_is_rate_limited(cast: Cast, item: CatalogItem, settings: Any) -> None:
    settings.API_RATE_LIMIT = "3/m"
    maya, priya = bearer(cast, "maya"), bearer(cast, "priya")
    assert [call("GET", "/catalog", maya).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert call("GET", "/catalog", priya).status_code == 200  # per token, not for everyone


def test_the_openapi_schema_describes_every_route(cast: Cast) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Gatehouse API"
    assert set(schema["paths"]) >= {
        "/api/v1/catalog",
        "/api/v1/requests",
        "/api/v1/requests/{request_id}",
        "/api/v1/requests/{request_id}/withdraw",
        "/api/v1/requests/{request_id}/decision",
        "/api/v1/inbox",
        "/api/v1/access",
        "/api/v1/grants",
        "/api/v1/audit/events",
        "/api/v1/operations",
    }
