"""Directory pages (admins and helpdesk), and the admin pages for the Okta connection and sync.

Lists use keyset pagination (``after`` = the last row's sort key), so every page costs the same
few queries however deep it is and however large the directory.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat, Lower
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.dispatch import task_send
from core.links import row_urls
from core.permissions import permission_required
from okta import connection as okta_connection
from okta.client import OktaError
from okta.forms import ConnectionForm, NameSearchForm, ScopeForm, UserSearchForm
from okta.hooks import HookPayloadError, hook_authorized, hook_events_store, hook_parse
from okta.models import (
    SEARCH_SEPARATOR,
    AdminRole,
    AppAssignment,
    GroupMembership,
    OktaApp,
    OktaGroup,
    OktaUser,
    SyncKind,
    SyncRun,
    SyncScope,
    SyncStatus,
)
from okta.sync.runs import SyncAlreadyRunningError, sync_run_start
from okta.sync.scope import sync_scope_update

log = logging.getLogger(__name__)

PAGE_SIZE = 50
USER_LIST_FIELDS = (
    "id",
    "status",
    "login",
    "email",
    "first_name",
    "last_name",
    "display_name",
    "department",
    "title",
)


directory_access = permission_required("okta.view_directory")
directory_object_access = permission_required("okta.view_directory", hide=True)
admin_access = permission_required("okta.manage_connection")


# --- keyset pagination ---------------------------------------------------------------------


def _encode_key(values: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def _decode_key(token: str, size: int) -> list[str] | None:
    if not token:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    if not all(isinstance(v, str) for v in values):
        return None
    return values


def _after(fields: Sequence[str], values: Sequence[str]) -> Q:
    """Rows sorting after ``values`` on ``fields`` (a row-value comparison spelled out)."""
    condition = Q()
    for i in range(len(fields)):
        step = Q(**{f"{fields[i]}__gt": values[i]})
        for j in range(i):
            step &= Q(**{fields[j]: values[j]})
        condition |= step
    return condition


def _query_without_cursor(request: HttpRequest) -> str:
    """The page's query string minus ``after``, for the "next page" link to extend."""
    query = request.GET.copy()
    query.pop("after", None)
    return query.urlencode()


def _keyset_page(
    qs: QuerySet[Any], fields: Sequence[str], after: str, ordering: Sequence[Any] = ()
) -> tuple[list[Any], str]:
    """One page of ``qs`` ordered by ``fields`` (or by ``ordering``, expressions sorting the
    same way), and the ``after`` token of the next page."""
    key = _decode_key(after, len(fields))
    qs = qs.order_by(*(ordering or fields))
    if key is not None:
        qs = qs.filter(_after(fields, key))
    rows = list(qs[: PAGE_SIZE + 1])
    next_token = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_token = _encode_key([str(getattr(last, f)) for f in fields])
    return rows, next_token


USER_KEY = ("last_name", "first_name", "id")


# The people search sorted by value rather than by the name index's columns. A search term
# of three letters or more is answered by the trigram index on PostgreSQL, and sorting its
# matches is cheap; sorted by the columns, the planner walks the name index and filters
# instead, expecting matches spread evenly through the alphabet, while a surname's thousand
# matches sit together, maybe 20,000 rows in.
USER_SEARCH_ORDERING = (Concat("last_name", Value("")), "first_name", "id")


def _search_users(qs: QuerySet[OktaUser], terms: Sequence[str]) -> QuerySet[OktaUser]:
    """Every term starts one of the searched fields (first or last name, display name, email,
    login), ignoring case."""
    for term in terms:
        # The database lowers the term as it lowered the fields (SQLite's LOWER knows only
        # ASCII), so both backends find the same people.
        qs = qs.filter(search__contains=Lower(Value(SEARCH_SEPARATOR + term)))
    return qs


def _render(request: HttpRequest, template: str, context: dict[str, Any], partial: str) -> Any:
    if request.htmx and not request.htmx.boosted:  # type: ignore[attr-defined]
        template = f"{template}#{partial}"
    return render(request, template, context)


# --- directory -------------------------------------------------------------------------------


@require_GET
@directory_access
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET)
    form.is_valid()
    data = form.cleaned_data if form.is_valid() else {}
    qs = OktaUser.objects.only(*USER_LIST_FIELDS)
    terms = (data.get("q") or "").split()[:5]
    qs = _search_users(qs, terms)
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("department"):
        qs = qs.filter(department__iexact=data["department"])
    # One- and two-letter terms match too many rows for the trigram index to help: walking
    # the name index is quicker for them.
    ordering = USER_SEARCH_ORDERING if any(len(t) >= 3 for t in terms) else ()
    users, next_token = _keyset_page(qs, USER_KEY, data.get("after", ""), ordering)
    row_urls(users, detail_url="okta:user_detail")
    return _render(
        request,
        "okta/user_list.html",
        {
            "form": form,
            "users": users,
            "next_token": next_token,
            "query": _query_without_cursor(request),
        },
        "results",
    )


def _get_directory_user(request: HttpRequest, user_id: str) -> OktaUser:
    return get_object_or_404(OktaUser, pk=user_id)


@require_GET
@directory_object_access
def user_detail(request: HttpRequest, user_id: str) -> HttpResponse:
    person = _get_directory_user(request, user_id)
    groups = (
        OktaGroup.objects.filter(memberships__user_id=person.id)
        .only("id", "name", "type")
        .order_by("name", "id")[:500]
    )
    apps = (
        AppAssignment.objects.filter(user_id=person.id)
        .select_related("app")
        .only("scope", "status", "app__id", "app__label", "app__status")
        .order_by("app__label")[:500]
    )
    roles = AdminRole.objects.filter(user_id=person.id).order_by("type")
    manager = OktaUser.objects.filter(pk=person.manager_id).first() if person.manager_id else None
    # htmx asks for the header again after an action on the person (status and actions).
    return _render(
        request,
        "okta/user_detail.html",
        {
            "person": person,
            "groups": groups,
            "apps": apps,
            "admin_roles": roles,
            "manager": manager,
        },
        "header",
    )


@require_GET
@directory_object_access
def user_events(request: HttpRequest, user_id: str) -> HttpResponse:
    """Recent System Log events about the user, fetched live (Okta is the only source)."""
    person = _get_directory_user(request, user_id)
    events: list[Any] = []
    error = ""
    try:
        with okta_connection.active_client() as client:
            client.max_retries = 1
            client.max_retry_seconds = 5.0
            filter_ = f'target.id eq "{person.id}" or actor.id eq "{person.id}"'
            for page in client.log_pages(filter=filter_, sort_order="DESCENDING", limit=20):
                events = page.items[:20]
                break
    except OktaError as exc:
        error = f"Okta could not be reached for recent events: {exc.message}"
    return _render(
        request,
        "okta/user_events.html",
        {"person": person, "events": events, "error": error},
        "events",
    )


def _named_page(
    request: HttpRequest, qs: QuerySet[Any], name_field: str, template: str, rows: str
) -> HttpResponse:
    """A list of groups or apps: names starting with the search text, keyset pages by name."""
    form = NameSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("q"):
        qs = qs.filter(**{f"{name_field}__istartswith": data["q"]})
    found, next_token = _keyset_page(qs, (name_field, "id"), data.get("after", ""))
    context = {
        "form": form,
        rows: found,
        "next_token": next_token,
        "query": _query_without_cursor(request),
    }
    return _render(request, template, context, "results")


def _people_page(
    request: HttpRequest,
    people: QuerySet[OktaUser],
    count: int,
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """The members of a group or the users of an app: searched like the people directory,
    keyset pages; ``count`` is everyone, whatever the search."""
    form = NameSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    qs = people.only(*USER_LIST_FIELDS)
    if data.get("q"):
        qs = _search_users(qs, data["q"].split()[:5])
    users, next_token = _keyset_page(qs, USER_KEY, data.get("after", ""))
    context |= {
        "form": form,
        "users": users,
        "user_count": count,
        "next_token": next_token,
        "query": _query_without_cursor(request),
    }
    return _render(request, template, context, "results")


@require_GET
@directory_access
def group_list(request: HttpRequest) -> HttpResponse:
    groups = OktaGroup.objects.only("id", "name", "type", "description")
    return _named_page(request, groups, "name", "okta/group_list.html", "groups")


@require_GET
@directory_object_access
def group_detail(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_object_or_404(OktaGroup, pk=group_id)
    return _people_page(
        request,
        OktaUser.objects.filter(memberships__group_id=group.id),
        GroupMembership.objects.filter(group_id=group.id).count(),
        "okta/group_detail.html",
        {"group": group},
    )


@require_GET
@directory_access
def app_list(request: HttpRequest) -> HttpResponse:
    apps = OktaApp.objects.only("id", "label", "name", "status", "sign_on_mode")
    return _named_page(request, apps, "label", "okta/app_list.html", "apps")


@require_GET
@directory_object_access
def app_detail(request: HttpRequest, app_id: str) -> HttpResponse:
    app = get_object_or_404(OktaApp, pk=app_id)
    return _people_page(
        request,
        OktaUser.objects.filter(app_assignments__app_id=app.id),
        AppAssignment.objects.filter(app_id=app.id).count(),
        "okta/app_detail.html",
        {"app": app},
    )


# --- admin: connection -----------------------------------------------------------------------


def _connection_context(request: HttpRequest, form: ConnectionForm | None = None) -> dict[str, Any]:
    conn = okta_connection.stored_connection()
    scope = SyncScope.objects.filter(pk=1).first()
    if form is None:
        initial: dict[str, Any] = {"auth_method": "token"}
        if conn is not None:
            initial = {
                "org_url": conn.org_url,
                "auth_method": conn.auth_method,
                "client_id": conn.client_id,
                "scopes": conn.scopes,
            }
        form = ConnectionForm(initial=initial, has_stored_secret=conn is not None)
    scope_form = ScopeForm(
        initial={
            "group_types": scope.group_types if scope else [],
            "group_name_patterns": "\n".join(scope.group_name_patterns) if scope else "",
            "user_statuses": scope.user_statuses if scope else [],
        }
    )
    return {
        "form": form,
        "scope_form": scope_form,
        "conn": conn,
        "env_configured": okta_connection.env_configured(),
        "env_org_url": settings.OKTA_ORG_URL,
        "env_auth": "API token" if settings.OKTA_API_TOKEN else "OAuth service app",
        "discovery": okta_connection.discovery() if okta_connection.is_configured() else None,
    }


@require_http_methods(["GET", "POST"])
@admin_access
def connection_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "okta/connection.html", _connection_context(request))
    conn = okta_connection.stored_connection()
    form = ConnectionForm(request.POST, has_stored_secret=conn is not None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            okta_connection.connection_save(
                actor=request.user,
                org_url=data["org_url"],
                auth_method=data["auth_method"],
                api_token=data.get("api_token", ""),
                client_id=data.get("client_id", ""),
                private_key=data.get("private_key", ""),
                scopes=(data.get("scopes") or "").split() or None,
            )
        except okta_connection.ConnectionSetupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Okta is connected. Run a full sync to fill the directory.")
            return redirect("okta:connection")
    return render(request, "okta/connection.html", _connection_context(request, form), status=400)


@require_POST
@admin_access
def scope_update(request: HttpRequest) -> HttpResponse:
    form = ScopeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The sync scope was not saved: " + form.errors.as_text())
        return redirect("okta:connection")
    sync_scope_update(
        actor=request.user,
        group_types=form.cleaned_data["group_types"],
        group_name_patterns=form.cleaned_data["group_name_patterns"],
        user_statuses=form.cleaned_data["user_statuses"],
    )
    messages.success(request, "Sync scope saved; it applies from the next sync.")
    return redirect("okta:connection")


@require_POST
@admin_access
def event_hook_register(request: HttpRequest) -> HttpResponse:
    try:
        status = okta_connection.event_hook_register(actor=request.user)
    except (okta_connection.ConnectionSetupError, OktaError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Event hook registered in Okta: {status}.")
    return redirect("okta:connection")


# --- admin: sync -----------------------------------------------------------------------------


@require_GET
@admin_access
def sync_page(request: HttpRequest) -> HttpResponse:
    runs = SyncRun.objects.all()[:20]
    running = SyncRun.objects.filter(status=SyncStatus.RUNNING).first()
    return render(
        request,
        "okta/sync.html",
        {
            "runs": runs,
            "running": running,
            "counts": {
                "users": OktaUser.objects.count(),
                "groups": OktaGroup.objects.count(),
                "apps": OktaApp.objects.count(),
            },
        },
    )


@require_POST
@admin_access
def sync_start(request: HttpRequest) -> HttpResponse:
    kind = SyncKind.FULL if request.POST.get("kind") != "incremental" else SyncKind.INCREMENTAL
    try:
        with transaction.atomic():
            run = sync_run_start(actor=request.user, kind=kind)
            transaction.on_commit(lambda: _queue_sync(run.pk))
    except SyncAlreadyRunningError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return render(
                request,
                "okta/sync.html#run",
                {"run": exc.run, "notice": "A sync is already running."},
                status=409,
            )
        messages.warning(request, "A sync is already running.")
        return redirect("okta:sync")
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "okta/sync.html#run", {"run": run})
    return redirect("okta:sync")


def _queue_sync(run_id: int) -> None:
    task_send("okta.run_sync", run_id)


@require_GET
@admin_access
def sync_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "okta/sync.html#run", {"run": run})
    return render(request, "okta/sync_run.html", {"run": run})


# --- event hook endpoint ---------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def event_hook(request: HttpRequest) -> HttpResponse:
    """Okta's one-time verification (GET: echo the challenge, which reveals nothing) and event
    deliveries (POST: only with the configured Authorization value)."""
    if request.method == "GET":
        challenge = request.headers.get("x-okta-verification-challenge", "")
        if not challenge or len(challenge) > 200:
            return JsonResponse({"error": "x-okta-verification-challenge is missing."}, status=400)
        return JsonResponse({"verification": challenge})
    if not hook_authorized(request.headers.get("Authorization")):
        return JsonResponse({"error": "Authorization is missing or wrong."}, status=401)
    limit = settings.OKTA_EVENT_HOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return JsonResponse({"error": f"The body is larger than {limit} bytes."}, status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"error": f"The body is larger than {limit} bytes."}, status=413)
    try:
        events = hook_parse(body)
    except HookPayloadError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    stored = hook_events_store(events=events)
    return JsonResponse({"received": len(events), "new": len(stored)})
