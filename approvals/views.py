"""Thin function views: parse, authorize (one helper per access path), call a service, render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, Subquery, Value
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from approvals import queries
from approvals.forms import (
    BulkDecisionForm,
    CatalogFilterForm,
    CatalogItemForm,
    DecisionForm,
    GrantEndForm,
    GrantFilterForm,
    PolicyForm,
    RequestForm,
)
from approvals.fulfilment import fulfilment_for
from approvals.inbox import INBOX_LIMIT, waiting
from approvals.models import (
    OPEN_STATUSES,
    AccessRequest,
    CatalogItem,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    RequestStatus,
    not_requestable_reason,
)
from approvals.services.catalog import catalog_item_publish, catalog_item_save, policy_save
from approvals.services.common import ApprovalError
from approvals.services.decisions import access_request_decide, access_requests_decide_bulk
from approvals.services.grants import (
    GRANT_NOT_ACTIVE,
    access_relinquish,
    grant_end,
    grant_revoke_retry,
)
from approvals.services.outcomes import access_request_retry
from approvals.services.requests import access_request_cancel, access_request_submit, subjects_for
from core.links import row_urls
from okta.models import (
    SEARCH_SEPARATOR,
    AppAssignment,
    GroupMembership,
    OktaApp,
    OktaGroup,
    OktaUser,
    Operation,
)

PAGE_SIZE = 25
INBOX_SIZE = 25
BULK_LIMIT = 100


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _next_or(request: HttpRequest, default: str) -> str:
    """A same-site ``next`` from the form, never a link elsewhere."""
    target = request.POST.get("next", "")
    # Only paths: redirect() would try a bare word such as "0" as a URL name and fail.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _partial(request: HttpRequest, template: str, region: str) -> str:
    return f"{template}#{region}" if _htmx(request) else template


# --- catalog --------------------------------------------------------------------------------


def _approver_summary(
    item: CatalogItem, stages: list[str], owner_names: dict[str, str], manager: str
) -> str:
    parts = []
    for approvers in stages:
        if approvers == "MANAGER":
            parts.append(f"your manager ({manager})" if manager else "your manager")
        elif approvers == "APPROVER_GROUP":
            name = item.approver_group.name if item.approver_group else "approver group"
            parts.append(f"a member of {name}")
        elif approvers == "OWNERS":
            names = [owner_names.get(o, o) for o in item.owners]
            parts.append(("an owner: " + ", ".join(names)) if names else "an owner")
        else:
            parts.append("a Gatehouse admin")
    return " then ".join(parts)


@require_GET
@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CatalogFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    okta_id = user.okta_id or "-"
    page = queries.catalog_page(
        text=filters.get("q") or "",
        kind=filters.get("kind") or "",
        department=filters.get("department") or "",
        number=filters.get("page") or 1,
        size=PAGE_SIZE,
    )
    items: list[CatalogItem] = list(page.object_list)
    held = queries.catalog_held_and_open(items, okta_id)
    people = queries.catalog_people(items, okta_id)
    stages = queries.catalog_policy_stages({item.policy_id for item in items}) if items else {}
    row_urls(items, request_url="approvals:request_new")
    rows = [
        {
            "item": item,
            "held": item.group_id in held.groups if item.group_id else item.app_id in held.apps,
            "open_request": held.open_requests.get(item.pk),
            "approvers": _approver_summary(
                item, stages.get(item.policy_id, []), people.owners, people.manager
            ),
        }
        for item in items
    ]
    return render(
        request,
        _partial(request, "approvals/catalog.html", "results"),
        {"form": form, "rows": rows, "page": page, "departments": queries.catalog_departments()},
    )


# --- requests -------------------------------------------------------------------------------


def _get_published_item(item_id: int) -> CatalogItem:
    return get_object_or_404(
        CatalogItem.objects.select_related("group", "app", "policy"), pk=item_id, published=True
    )


@require_http_methods(["GET", "POST"])
@login_required
def request_new(request: HttpRequest, item_id: int) -> HttpResponse:
    user = _user(request)
    item = _get_published_item(item_id)
    subjects = subjects_for(user)
    extends: Grant | None = None
    extend_id = request.GET.get("extend") or request.POST.get("extend")
    if extend_id:
        extends = get_object_or_404(
            Grant,
            pk=extend_id if str(extend_id).isdigit() else 0,
            item=item,
            subject_id__in=[s.pk for s in subjects],
            status=GrantStatus.ACTIVE,
        )
    initial: dict[str, Any] = {}
    if extends is not None:
        initial = {"subject": extends.subject_id, "reason": extends.request.reason}
        if extends.request.duration_days:
            initial["duration"] = str(extends.request.duration_days)
    form = RequestForm(request.POST or None, item=item, subjects=subjects, initial=initial)
    if not subjects:
        form.add_error(None, "Your account is not linked to an Okta user, so you cannot ask.")
    elif request.method == "POST" and form.is_valid():
        try:
            req = access_request_submit(
                requester=user,
                item=item,
                subject_id=form.cleaned_data["subject"],
                reason=form.cleaned_data["reason"],
                duration_days=form.cleaned_data["duration"],
                extends_grant=extends,
                http_request=request,
            )
        except ApprovalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if req.auto_approved_reason:
                messages.success(request, req.auto_approved_reason)
            else:
                messages.success(request, f"Request #{req.pk} sent for approval.")
            if _htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = req.get_absolute_url()
                return response
            return redirect(req)
    # htmx swaps only 2xx answers, so an HTMX form with errors comes back as 200.
    status = 422 if request.method == "POST" and not _htmx(request) else 200
    return render(
        request,
        _partial(request, "approvals/request_form.html", "form"),
        {"item": item, "form": form, "extends": extends},
        status=status,
    )


def _get_request_for_viewer(request: HttpRequest, pk: int) -> AccessRequest:
    """Requester, subject, anyone routed to decide it, and admins; everyone else gets 404."""
    user = _user(request)
    qs = AccessRequest.objects.select_related("item", "requester", "subject", "item__policy")
    return get_object_or_404(qs.viewable_by(user), pk=pk)


@require_GET
@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    req = _get_request_for_viewer(request, pk)
    events = list(req.events.all())
    operations = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
    grant = Grant.objects.filter(request=req).first()
    waiting_on: list[str] = []
    if req.is_pending:
        ids = req.approvers.filter(stage=req.current_stage, decided_at__isnull=True).values_list(
            "okta_id", flat=True
        )
        waiting_on = [str(u) for u in OktaUser.objects.filter(id__in=list(ids))]
    context = {
        "req": req,
        "waiting_on": waiting_on,
        "events": events,
        "operations": operations,
        "grant": grant,
        "can_decide": req.can_be_decided_by(user),
        "can_cancel": req.can_be_cancelled_by(user),
        # Someone else's request is reached from the inbox: the nav and breadcrumb say so.
        "nav_section": "approvals:my_requests" if req.is_party(user) else "approvals:inbox",
        "can_retry": user.has_perm("approvals.retry_fulfilment")
        and req.status == RequestStatus.FAILED,
        "decision_form": DecisionForm(),
        "polling": req.status in (RequestStatus.APPROVED, RequestStatus.FULFILLING),
        "action_link": fulfilment_for(req.kind).link(req) if req.kind else "",
    }
    return render(request, _partial(request, "approvals/request_detail.html", "status"), context)


@require_GET
@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    q = Q(requester=user)
    if user.okta_id:
        q |= Q(subject_id=user.okta_id)
    qs = AccessRequest.objects.filter(q).select_related("item")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "approvals/my_requests.html", {"page": page})


@require_POST
@login_required
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    req = _get_request_for_viewer(request, pk)
    try:
        access_request_cancel(actor=user, request_id=req.pk, http_request=request)
    except ApprovalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Request #{req.pk} cancelled.")
    return redirect(req)


@require_POST
@login_required
def request_retry(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such request")
    req = get_object_or_404(AccessRequest, pk=pk)
    try:
        access_request_retry(actor=user, request_id=req.pk, http_request=request)
    except ApprovalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Request #{req.pk} sent to Okta again.")
    return redirect(_next_or(request, req.get_absolute_url()))


@require_POST
@login_required
def grant_retry(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("approvals.retry_fulfilment"):
        raise Http404("No such grant")
    try:
        grant_revoke_retry(actor=user, grant_id=pk, http_request=request)
    except ApprovalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removal sent to Okta again.")
    return redirect(_next_or(request, reverse("approvals:operations")))


# --- inbox and decisions ----------------------------------------------------------------------


def _inbox_links(rows: list[AccessRequest]) -> list[AccessRequest]:
    row_urls(
        rows,
        detail_url="approvals:request_detail",
        decide_url="approvals:request_decide",
        access_url="approvals:request_subject_access",
    )
    return rows


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    after = request.GET.get("after", "")
    # A malformed cursor (an edited address) shows the first page rather than an error.
    after = after if after.isdigit() and len(after) < 19 else ""
    rows, more = queries.inbox_page(user, after=int(after) if after else None, size=INBOX_SIZE)
    _inbox_links(rows)
    total = waiting(request, up_to=INBOX_LIMIT)
    context = {"rows": rows, "more": more, "total": total, "total_is_floor": total >= INBOX_LIMIT}
    if after:
        template = "approvals/inbox.html#more" if _htmx(request) else "approvals/inbox.html"
        return render(request, template, {**context, "after": after})
    return render(request, _partial(request, "approvals/inbox.html", "list"), context)


@require_GET
@login_required
def request_subject_access(request: HttpRequest, pk: int) -> HttpResponse:
    """The groups and apps the request's subject holds, for the approver weighing it."""
    req = _get_request_for_approver(request, pk)
    memberships = (
        GroupMembership.objects.filter(user_id=req.subject_id)
        .select_related("group")
        .order_by("group__name")
    )
    assignments = (
        AppAssignment.objects.filter(user_id=req.subject_id)
        .select_related("app")
        .order_by("app__label")
    )
    return render(
        request,
        _partial(request, "approvals/subject_access.html", "lists"),
        {
            "req": req,
            "groups": [m.group.name for m in memberships],
            "apps": [a.app.label for a in assignments],
        },
    )


def _get_request_for_approver(request: HttpRequest, pk: int) -> AccessRequest:
    """A request this person was ever asked to decide (or an admin); others get 404."""
    user = _user(request)
    return get_object_or_404(AccessRequest.objects.ever_routed_to(user), pk=pk)


@require_POST
@login_required
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    req = _get_request_for_approver(request, pk)
    form = DecisionForm(request.POST)
    error = ""
    decided_stage = req.current_stage
    if not form.is_valid():
        error = "Choose approve or deny."
    else:
        try:
            req = access_request_decide(
                actor=user,
                request_id=req.pk,
                outcome=form.cleaned_data["outcome"],
                comment=form.cleaned_data["comment"],
                http_request=request,
            )
        except ApprovalError as exc:
            error = exc.message
    if _htmx(request):
        # The decided row, and the inbox's count and the nav badge in the same answer.
        row = _inbox_links(queries.inbox_rows(AccessRequest.objects.filter(pk=req.pk)))[0]
        total = waiting(request, up_to=INBOX_LIMIT)
        return render(
            request,
            "approvals/_decided.html",
            {
                "r": row,
                "error": error,
                "form": form,
                "just_decided": not error,
                "outcome": "" if error else row.decision_outcome(stage=decided_stage),
                "total": total,
                "total_is_floor": total >= INBOX_LIMIT,
                "more": total > INBOX_SIZE,
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, f"#{req.pk} {req.label}: {req.decision_outcome(stage=decided_stage)}"
        )
    return redirect(_next_or(request, reverse("approvals:inbox")))


@require_POST
@login_required
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Select at least one request and approve or deny.")
        return redirect("approvals:inbox")
    if len(form.cleaned_data["ids"]) > BULK_LIMIT:
        messages.error(request, f"Decide at most {BULK_LIMIT} requests at once.")
        return redirect("approvals:inbox")
    result = access_requests_decide_bulk(
        actor=user,
        request_ids=form.cleaned_data["ids"],
        outcome=form.cleaned_data["outcome"],
        comment=form.cleaned_data["comment"],
        http_request=request,
    )
    if result.decided:
        messages.success(request, f"Decided {len(result.decided)} request(s).")
    for pk, why in result.refused.items():
        messages.error(request, f"#{pk}: {why}")
    return redirect("approvals:inbox")


# --- my access and grants ---------------------------------------------------------------------


@require_GET
@login_required
def my_access(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    okta_id = user.okta_id or "-"
    # The person and their manager in one query.
    # A scalar subquery: PostgreSQL answers "pk = x OR pk = (subquery)" from the primary key
    # index, where "OR pk IN (subquery)" reads every user.
    my_manager_id = Subquery(OktaUser.objects.filter(pk=okta_id).values("manager_id")[:1])
    found = {u.pk: u for u in OktaUser.objects.filter(Q(pk=okta_id) | Q(pk=my_manager_id))}
    person = found.get(okta_id)
    manager = found.get(person.manager_id) if person is not None and person.manager_id else None
    memberships: list[GroupMembership] = []
    assignments: list[AppAssignment] = []
    grants: dict[tuple[str, str], Grant] = {}
    pending: list[AccessRequest] = []
    if person is not None:
        memberships = list(
            GroupMembership.objects.filter(user_id=person.pk)
            .select_related("group")
            .order_by("group__name")
        )
        assignments = list(
            AppAssignment.objects.filter(user_id=person.pk)
            .select_related("app")
            .order_by("app__label")
        )
        for g in Grant.objects.filter(
            subject_id=person.pk, status__in=[GrantStatus.ACTIVE, GrantStatus.REVOKING]
        ).select_related("item"):
            grants[(g.item.kind, g.item.resource_id)] = g
        pending = list(
            AccessRequest.objects.filter(subject_id=person.pk, status__in=OPEN_STATUSES)
            .select_related("item")
            .order_by("-created_at")
        )
    groups = [
        {
            "m": m,
            "grant": grants.get((ItemKind.GROUP, m.group_id)),
            "locked": not_requestable_reason(m.group),
        }
        for m in memberships
    ]
    apps = [{"a": a, "grant": grants.get((ItemKind.APP, a.app_id))} for a in assignments]
    return render(
        request,
        "approvals/my_access.html",
        {"person": person, "manager": manager, "groups": groups, "apps": apps, "pending": pending},
    )


@require_POST
@login_required
def relinquish(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    kind = request.POST.get("kind", "")
    resource_id = request.POST.get("resource_id", "")
    if kind not in ItemKind.values or not resource_id:
        raise Http404("No such access")
    try:
        access_relinquish(actor=user, kind=kind, resource_id=resource_id, http_request=request)
    except ApprovalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Removing that access in Okta. It disappears here once Okta confirms."
        )
    return redirect("approvals:my_access")


@require_GET
@login_required
def grant_extend(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    grant = get_object_or_404(
        Grant,
        pk=pk,
        subject_id__in=[s.pk for s in subjects_for(user)] or ["-"],
    )
    if grant.status != GrantStatus.ACTIVE:
        messages.info(request, "That access has ended; ask for it again.")
        return redirect("approvals:request_new", item_id=grant.item_id)
    return redirect(f"{reverse('approvals:request_new', args=[grant.item_id])}?extend={grant.pk}")


# --- admin: catalog, policies, operation queue ------------------------------------------------


def _require(check: bool) -> None:
    if not check:
        raise Http404("Not found")


@require_GET
@login_required
def admin_catalog(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(user.has_perm("approvals.manage_catalog"))
    q = (request.GET.get("q") or "").strip()[:100]
    items = list(CatalogItem.objects.select_related("group", "app", "policy"))
    groups: list[OktaGroup] = []
    apps: list[OktaApp] = []
    if q:
        groups = list(
            OktaGroup.objects.filter(name__icontains=q, catalog_item__isnull=True).order_by("name")[
                :25
            ]
        )
        apps = list(
            OktaApp.objects.filter(label__icontains=q, catalog_item__isnull=True).order_by("label")[
                :25
            ]
        )
    return render(
        request,
        _partial(request, "approvals/admin_catalog.html", "directory"),
        {
            "items": items,
            "q": q,
            "groups": [(g, not_requestable_reason(g)) for g in groups],
            "apps": apps,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def admin_item_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _user(request)
    _require(user.has_perm("approvals.manage_catalog"))
    if pk is not None:
        item = get_object_or_404(CatalogItem.objects.select_related("group", "app"), pk=pk)
    else:
        group_id = request.GET.get("group") or request.POST.get("group")
        app_id = request.GET.get("app") or request.POST.get("app")
        if group_id:
            group = get_object_or_404(OktaGroup, pk=group_id)
            item = CatalogItem(
                kind=ItemKind.GROUP, group=group, name=group.name, description=group.description
            )
        elif app_id:
            app = get_object_or_404(OktaApp, pk=app_id)
            item = CatalogItem(kind=ItemKind.APP, app=app, name=app.label)
        else:
            raise Http404("Choose a group or an app")
    form = CatalogItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            item = catalog_item_save(actor=user, item=form.save(commit=False), http_request=request)
        except ApprovalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Saved {item.name}.")
            return redirect("approvals:admin_catalog")
    return render(
        request,
        "approvals/admin_item_form.html",
        {"form": form, "item": item},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def admin_item_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _require(user.has_perm("approvals.manage_catalog"))
    item = get_object_or_404(CatalogItem, pk=pk)
    publish = request.POST.get("published") == "1"
    try:
        catalog_item_publish(actor=user, item_id=item.pk, published=publish, http_request=request)
    except ApprovalError as exc:
        messages.error(
            request,
            f"{item.name} was not {'published' if publish else 'unpublished'}. {exc.message}",
        )
    else:
        messages.success(request, f"{item.name} {'published' if publish else 'unpublished'}.")
    return redirect("approvals:admin_catalog")


@require_GET
@login_required
def admin_policies(request: HttpRequest) -> HttpResponse:
    _require(_user(request).has_perm("approvals.manage_policies"))
    policies = Policy.objects.prefetch_related("stages")
    return render(request, "approvals/admin_policies.html", {"policies": policies})


@require_http_methods(["GET", "POST"])
@login_required
def admin_policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _user(request)
    _require(user.has_perm("approvals.manage_policies"))
    policy = get_object_or_404(Policy, pk=pk) if pk is not None else Policy()
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            policy = policy_save(
                actor=user, policy=form.save(), stages=form.stages(), http_request=request
            )
        except ApprovalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved policy {policy.name}.")
            return redirect("approvals:admin_policies")
    return render(
        request,
        "approvals/admin_policy_form.html",
        {"form": form, "policy": policy},
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@login_required
def operations(request: HttpRequest) -> HttpResponse:
    """The Okta operations Gatehouse made for requests and grants, newest first."""
    _require(_user(request).has_perm("approvals.retry_fulfilment"))
    status = request.GET.get("status", "")
    qs = Operation.objects.filter(
        Q(correlation__startswith="request:")
        | Q(correlation__startswith="grant:")
        | Q(correlation__startswith="relinquish:")
    )
    if status in ("PENDING", "RUNNING", "SUCCEEDED", "FAILED"):
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    ops = list(page.object_list)
    request_ids = [
        int(o.correlation.split(":", 1)[1])
        for o in ops
        if o.correlation.startswith("request:") and o.correlation.split(":", 1)[1].isdigit()
    ]
    requests_by_id = {
        r.pk: r for r in AccessRequest.objects.filter(pk__in=request_ids).select_related("item")
    }
    grant_ids = [
        int(o.correlation.split(":", 1)[1])
        for o in ops
        if o.correlation.startswith("grant:") and o.correlation.split(":", 1)[1].isdigit()
    ]
    grants_by_id = {
        g.pk: g for g in Grant.objects.filter(pk__in=grant_ids).select_related("item", "request")
    }
    rows = []
    for o in ops:
        key = o.correlation.split(":", 1)[1]
        req = (
            requests_by_id.get(int(key))
            if o.correlation.startswith("request:") and key.isdigit()
            else None
        )
        grant = (
            grants_by_id.get(int(key))
            if o.correlation.startswith("grant:") and key.isdigit()
            else None
        )
        rows.append({"op": o, "req": req, "grant": grant})
    # While Okta is still being asked (a retry just pressed), the table refreshes itself.
    polling = any(not o.is_final for o in ops)
    return render(
        request,
        _partial(request, "approvals/operations.html", "table"),
        {"rows": rows, "page": page, "status": status, "polling": polling},
    )


# --- admin: active grants ----------------------------------------------------------------------

# What a grant row shows; the request's reason and timeline stay unread.
_GRANT_FIELDS = (
    *("id", "item_id", "subject_id", "status", "granted_at", "expires_at", "request_id"),
    *("revoke_reason", "item__name", "item__kind", "request__subject_label"),
)
ENDING_SOON = timedelta(days=7)


def _get_grant_for_admin(request: HttpRequest, pk: int) -> Grant:
    """Any grant, for admins; everyone else gets 404, as for every /manage/ page."""
    _require(_user(request).has_perm("approvals.manage_grants"))
    return get_object_or_404(
        Grant.objects.select_related("item", "request").only(*_GRANT_FIELDS), pk=pk
    )


def _grant_rows(grants: list[Grant]) -> list[Grant]:
    row_urls(grants, end_url="approvals:admin_grant_end")
    soon = timezone.now() + ENDING_SOON
    for g in grants:
        g.request_url = reverse("approvals:request_detail", args=[g.request_id])  # type: ignore[attr-defined]
        g.ends_soon = g.expires_at is not None and g.expires_at <= soon  # type: ignore[attr-defined]
    return grants


@require_GET
@login_required
def admin_grants(request: HttpRequest) -> HttpResponse:
    """Everyone's active grants, newest first: keyset pages (``before`` = the last row's id), so
    a page costs the same few queries at any depth of 100,000 grants."""
    _require(_user(request).has_perm("approvals.manage_grants"))
    form = GrantFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data  # the fields that are valid: a bad one is ignored, not the rest
    qs = Grant.objects.filter(status=GrantStatus.ACTIVE)
    item_text = (data.get("item") or "").strip()
    if item_text:
        # Any part of the item's name (the catalog's trigram index answers it).
        qs = qs.filter(
            item_id__in=CatalogItem.objects.filter(name__icontains=item_text).values("id")
        )
    terms = (data.get("q") or "").split()[:5]
    if terms:
        people = OktaUser.objects.all()
        for term in terms:
            people = people.filter(search__contains=Lower(Value(SEARCH_SEPARATOR + term)))
        qs = qs.filter(subject_id__in=people.values("id"))
    if data.get("ends") == "week":
        qs = qs.filter(expires_at__lte=timezone.now() + ENDING_SOON)
    elif data.get("ends") == "never":
        qs = qs.filter(expires_at__isnull=True)
    if data.get("before"):
        qs = qs.filter(pk__lt=data["before"])
    grants = list(
        qs.select_related("item", "request").only(*_GRANT_FIELDS).order_by("-id")[: PAGE_SIZE + 1]
    )
    more = len(grants) > PAGE_SIZE
    grants = _grant_rows(grants[:PAGE_SIZE])
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "form": form,
        "grants": grants,
        "next_before": grants[-1].pk if more else None,
        "query": query.urlencode(),
        "filtered": bool(item_text or terms or data.get("ends")),
    }
    return render(request, _partial(request, "approvals/admin_grants.html", "results"), context)


@require_http_methods(["GET", "POST"])
@login_required
def admin_grant_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End someone's grant now, with a reason: a confirmation page, or the grant's row turned
    into the form (HTMX); the answer is the row as it now is."""
    grant = _get_grant_for_admin(request, pk)
    form = GrantEndForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"g": grant, "end_form": form}
    if request.method == "POST" and form.is_valid():
        try:
            grant = grant_end(
                actor=_user(request),
                grant_id=grant.pk,
                reason=form.cleaned_data["reason"],
                http_request=request,
            )
        except ApprovalError as exc:
            if not _htmx(request):
                messages.error(request, exc.message)
                return redirect("approvals:admin_grants")
            context |= {"end_form": None, "error": exc.message}
        else:
            done = (
                f"Ending {grant.item.name} for {grant.request.subject_label}: Okta removes the "
                "access, then they are emailed the reason."
            )
            if not _htmx(request):
                messages.success(request, done)
                return redirect("approvals:admin_grants")
            context |= {"end_form": None, "done": done}
    elif request.method == "GET" and grant.status != GrantStatus.ACTIVE:
        message = GRANT_NOT_ACTIVE[GrantStatus(grant.status)]
        if not _htmx(request):
            messages.error(request, message)
            return redirect("approvals:admin_grants")
        context |= {"end_form": None, "error": message}
    context["g"] = _grant_rows([grant])[0]
    if _htmx(request):
        return render(request, "approvals/admin_grants.html#row", context)
    status = 422 if request.method == "POST" else 200
    return render(request, "approvals/admin_grant_end.html", context, status=status)
