"""The REST API, ``/api/v1/`` (django-ninja: typed schemas and the OpenAPI document at
``/api/v1/openapi.json`` come from the same declarations).

Each call carries a bearer token (api/tokens.py). It acts as the token's owner through the same
services the pages use, so every rule holds as it does in the browser; the token's scope limits
it further, and the owner's permission is asked as the page asks it. Someone else's object is a
404. Lists use keyset paging: ``?after=<id>`` from the page's ``next``. Every call is audited
with the token's name (``api.call``), and each token is rate-limited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from accounts.models import User
from api.models import ApiToken
from api.tokens import token_authenticate
from approvals.models import AccessRequest, CatalogItem, Grant
from approvals.services.decisions import access_request_decide
from approvals.services.requests import access_request_cancel, access_request_submit
from audit.models import AuditEvent
from audit.services import VIEW_PERMISSION
from core.errors import ServiceError
from okta.models import Operation

PAGE_SIZE = 100


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return token_authenticate(token)


class TokenThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT`` calls per token (a window in Django's cache)."""

    scope = "token"

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        self.num_requests, self.duration = self.parse_rate(settings.API_RATE_LIMIT)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "auth", None)
        return f"api-throttle:{token.pk}" if isinstance(token, ApiToken) else None


api = NinjaAPI(
    title="Gatehouse API",
    version="1",
    description=__doc__ or "",
    auth=TokenAuth(),
    throttle=[TokenThrottle()],
    urls_namespace="api",
    docs_url=None,  # Swagger UI needs an inline script block; the schema is at openapi.json
)


def _token(request: HttpRequest) -> ApiToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return token


def _actor(request: HttpRequest, scope: str, permission: str | None = None) -> User:
    """The token's owner, when the token holds ``scope`` and the owner ``permission``."""
    token = _token(request)
    if scope not in token.scopes:
        raise HttpError(403, f"This token lacks the {scope} scope.")
    if permission and not token.owner.has_perm(permission):
        raise HttpError(403, "The token's owner may not do this.")
    return token.owner


# --- errors: the same plain sentences the pages show --------------------------------------------


@api.exception_handler(ServiceError)
def _refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=400)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": "You may not do this."}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "A valid bearer token is needed (Authorization: Bearer gh_…)."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="gatehouse"'
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.errors}, status=422)


# --- schemas ---------------------------------------------------------------------------------


class Paging(Schema):
    after: int | None = Field(None, ge=0, le=2**62, description="the previous page's `next`")


class CatalogItemOut(Schema):
    id: int
    name: str
    kind: str
    description: str
    department: str
    risk: str
    default_duration_days: int | None
    max_duration_days: int | None
    reason_required: bool


class CatalogPage(Schema):
    items: list[CatalogItemOut]
    next: int | None


class RequestOut(Schema):
    id: int
    kind: str
    item_id: int | None
    title: str
    subject_id: str
    subject: str
    status: str
    reason: str
    duration_days: int | None
    current_stage: int
    stages: int
    created_at: datetime
    decided_at: datetime | None


class RequestPage(Schema):
    items: list[RequestOut]
    next: int | None


class RequestIn(Schema):
    item_id: int = Field(..., ge=1, le=2**62)
    reason: str = Field("", max_length=2000)
    duration_days: int | None = Field(None, ge=1, le=3650)
    subject_id: str | None = Field(None, min_length=1, max_length=32)


class DecisionIn(Schema):
    outcome: Literal["approve", "deny"]
    comment: str = Field("", max_length=2000)


class GrantOut(Schema):
    id: int
    request_id: int
    item_id: int
    item: str
    subject_id: str
    status: str
    granted_at: datetime
    expires_at: datetime | None


class GrantPage(Schema):
    items: list[GrantOut]
    next: int | None


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime
    action: str
    actor: str
    target_type: str
    target_id: str
    target_label: str
    outcome: str
    detail: dict[str, Any]
    hash: str


class AuditPage(Schema):
    items: list[AuditEventOut]
    next: int | None


class AuditFilter(Paging):
    action: str = Field("", max_length=64, description="an action, or a prefix ending in `*`")
    actor: str = Field("", max_length=254)


class OperationOut(Schema):
    id: int
    kind: str
    status: str
    attempts: int
    actor: str
    okta_status: int | None
    error_code: str
    error_summary: str
    created_at: datetime
    finished_at: datetime | None


class OperationPage(Schema):
    items: list[OperationOut]
    next: int | None


def _page(
    rows: QuerySet[Any], after: int | None, *, newest_first: bool = False
) -> tuple[list[Any], int | None]:
    """One keyset page by id (ascending, or newest first) and the cursor of the next."""
    if after is not None:
        rows = rows.filter(pk__lt=after) if newest_first else rows.filter(pk__gt=after)
    rows = rows.order_by("-pk" if newest_first else "pk")
    found = list(rows[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return found, (found[-1].pk if more and found else None)


def _request_out(req: AccessRequest) -> dict[str, Any]:
    return {
        "id": req.pk,
        "kind": req.kind,
        "item_id": req.item_id,
        "title": req.label,
        "subject_id": req.subject_id,
        "subject": req.subject_label,
        "status": req.status,
        "reason": req.reason,
        "duration_days": req.duration_days,
        "current_stage": req.current_stage,
        "stages": len(req.stages),
        "created_at": req.created_at,
        "decided_at": req.decided_at,
    }


def _grant_out(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "request_id": grant.request_id,
        "item_id": grant.item_id,
        "item": grant.item.name,
        "subject_id": grant.subject_id,
        "status": grant.status,
        "granted_at": grant.granted_at,
        "expires_at": grant.expires_at,
    }


# --- routes ----------------------------------------------------------------------------------

catalog = Router(tags=["catalog"])
requests_ = Router(tags=["requests"])
inbox = Router(tags=["inbox"])
access = Router(tags=["access"])
admin = Router(tags=["admin"])


@catalog.get("/catalog", response=CatalogPage, summary="The published catalog")
def catalog_list(
    request: HttpRequest, paging: Query[Paging], q: str = Query("", max_length=200)
) -> dict[str, Any]:
    _actor(request, "catalog:read")
    items, after = _page(CatalogItem.objects.published().search(q), paging.after)
    return {"items": items, "next": after}


@requests_.get("/requests", response=RequestPage, summary="Your requests (asked by you or for you)")
def request_list(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    user = _actor(request, "requests:read")
    mine = Q(requester=user) | (Q(subject_id=user.okta_id) if user.okta_id else Q(pk__in=[]))
    rows, after = _page(
        AccessRequest.objects.filter(mine).select_related("item"), paging.after, newest_first=True
    )
    return {"items": [_request_out(r) for r in rows], "next": after}


@requests_.get("/requests/{request_id}", response=RequestOut, summary="One request you may see")
def request_detail(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _actor(request, "requests:read")
    found = (
        AccessRequest.objects.viewable_by(user).select_related("item").filter(pk=request_id).first()
    )
    if found is None:
        raise Http404
    return _request_out(found)


@requests_.post("/requests", response={201: RequestOut}, summary="Ask for a catalog item")
def request_submit(request: HttpRequest, body: RequestIn) -> Status[dict[str, Any]]:
    user = _actor(request, "requests:write")
    item = CatalogItem.objects.published().filter(pk=body.item_id).first()
    if item is None:
        raise Http404
    created = access_request_submit(
        requester=user,
        item=item,
        subject_id=body.subject_id,
        reason=body.reason,
        duration_days=body.duration_days,
        http_request=request,
    )
    return Status(201, _request_out(created))


@requests_.post(
    "/requests/{request_id}/withdraw", response=RequestOut, summary="Withdraw your pending request"
)
def request_withdraw(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _actor(request, "requests:write")
    cancelled = access_request_cancel(actor=user, request_id=request_id, http_request=request)
    return _request_out(cancelled)


@inbox.get("/inbox", response=RequestPage, summary="Requests waiting for your decision")
def inbox_list(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    user = _actor(request, "inbox:read")
    rows, after = _page(
        AccessRequest.objects.decidable_by(user).select_related("item"), paging.after
    )
    return {"items": [_request_out(r) for r in rows], "next": after}


@inbox.post(
    "/requests/{request_id}/decision", response=RequestOut, summary="Approve or deny a request"
)
def request_decide(request: HttpRequest, request_id: int, body: DecisionIn) -> dict[str, Any]:
    user = _actor(request, "inbox:decide")
    if not AccessRequest.objects.ever_routed_to(user).filter(pk=request_id).exists():
        raise Http404
    decided = access_request_decide(
        actor=user,
        request_id=request_id,
        outcome=body.outcome.upper(),
        comment=body.comment,
        http_request=request,
    )
    return _request_out(decided)


@access.get("/access", response=GrantPage, summary="Your access granted through Gatehouse")
def my_access(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    user = _actor(request, "access:read")
    rows, after = _page(
        Grant.objects.filter(subject_id=user.okta_id or "-").select_related("item"), paging.after
    )
    return {"items": [_grant_out(g) for g in rows], "next": after}


@admin.get("/grants", response=GrantPage, summary="Every grant (admins)")
def grant_list(
    request: HttpRequest, paging: Query[Paging], status: str = Query("", max_length=15)
) -> dict[str, Any]:
    _actor(request, "grants:read", "approvals.manage_grants")
    grants = Grant.objects.select_related("item")
    if status:
        grants = grants.filter(status=status.upper())
    rows, after = _page(grants, paging.after)
    return {"items": [_grant_out(g) for g in rows], "next": after}


@admin.get("/audit/events", response=AuditPage, summary="The audit trail, newest first (auditors)")
def audit_events(request: HttpRequest, filters: Query[AuditFilter]) -> dict[str, Any]:
    _actor(request, "audit:read", VIEW_PERMISSION)
    events = AuditEvent.objects.all()
    if filters.action.endswith("*"):
        events = events.filter(action__startswith=filters.action[:-1])
    elif filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(actor=filters.actor)
    rows, after = _page(events, filters.after, newest_first=True)
    return {"items": rows, "next": after}


@admin.get("/operations", response=OperationPage, summary="The Okta operation queue (admins)")
def operation_list(
    request: HttpRequest, paging: Query[Paging], status: str = Query("", max_length=20)
) -> dict[str, Any]:
    _actor(request, "operations:read", "okta.retry_operation")
    operations = Operation.objects.all()
    if status:
        operations = operations.filter(status=status.upper())
    rows, after = _page(operations, paging.after, newest_first=True)
    return {"items": rows, "next": after}


api.add_router("", catalog)
api.add_router("", requests_)
api.add_router("", inbox)
api.add_router("", access)
api.add_router("", admin)
