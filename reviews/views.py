"""Access review pages: the reviewer's items, campaigns for admins, the report and its export
for admins and auditors. Thin views: parse, authorize, call one service, render."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from audit.chain import canonical_time, stream
from audit.services import audit_record
from core.permissions import permission_required
from okta.models import OktaUser
from reviews import services
from reviews.forms import BulkDecisionForm, CampaignForm, DecisionForm, DelegateForm
from reviews.models import Campaign, CampaignStatus, Decision, ReviewItem
from reviews.services import ReviewError

PAGE_SIZE = 300


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _partial(request: HttpRequest, template: str, region: str) -> str:
    return f"{template}#{region}" if _htmx(request) else template


def _names(ids: set[str]) -> dict[str, str]:
    """Current directory names of these people, in one query."""
    ids.discard("")
    if not ids:
        return {}
    people = OktaUser.objects.filter(pk__in=ids).only(
        "id", "login", "first_name", "last_name", "display_name"
    )
    return {person.pk: str(person) for person in people}


# --- the reviewer's page -----------------------------------------------------------------------


def _get_item_for_reviewer(request: HttpRequest, pk: int) -> ReviewItem:
    """An item this person reviews; anyone else's is a 404."""
    return get_object_or_404(
        services.items_for_reviewer(_user(request)).select_related("campaign", "grant__request"),
        pk=pk,
    )


def _row_context(user: User, items: list[ReviewItem]) -> dict[str, Any]:
    managers = _names({item.subject_manager_id for item in items})
    for item in items:
        item.manager_label = managers.get(item.subject_manager_id, "")  # type: ignore[attr-defined]
        item.is_own = item.is_subject(user.okta_id)  # type: ignore[attr-defined]
    return {"me": user}


@require_GET
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The reviewer's items in campaigns under review: undecided first, risky first."""
    user = _user(request)
    items = list(
        services.items_for_reviewer(user)
        .filter(campaign__status=CampaignStatus.ACTIVE)
        .select_related("campaign", "grant__request")
        .order_by("decision", "-risk", "subject_label", "id")[: PAGE_SIZE + 1]
    )
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    context = {
        "items": items,
        "more": more,
        "undecided": sum(1 for item in items if not item.decision),
        **_row_context(user, items),
    }
    return render(request, _partial(request, "reviews/mine.html", "list"), context)


def _render_row(request: HttpRequest, item: ReviewItem, error: str = "") -> HttpResponse:
    context = {"item": item, "error": error, **_row_context(_user(request), [item])}
    return render(request, "reviews/mine.html#row", context)


@require_POST
@login_required
def item_decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_item_for_reviewer(request, pk)
    form = DecisionForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose keep or revoke."
    else:
        try:
            services.review_item_decide(
                actor=_user(request),
                item_id=item.pk,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                http_request=request,
            )
        except ReviewError as exc:
            error = exc.message
    if _htmx(request):
        return _render_row(request, _get_item_for_reviewer(request, pk), error)
    if error:
        messages.error(request, f"{item}: {error}")
    else:
        messages.success(request, f"{item}: decision recorded.")
    return redirect("reviews:mine")


@require_POST
@login_required
def item_delegate(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get_item_for_reviewer(request, pk)
    form = DelegateForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            item = services.review_item_delegate(
                actor=_user(request),
                item_id=item.pk,
                to_okta_id=form.cleaned_data["login"],
                note=form.cleaned_data["note"],
                http_request=request,
            )
        except ReviewError as exc:
            error = exc.message
    done = f"Handed over to {getattr(item, 'delegate_label', '')}." if not error else ""
    if _htmx(request):
        if error:
            return _render_row(request, _get_item_for_reviewer(request, pk), error)
        return HttpResponse(
            f'<li class="card mb-3" id="review-item-{item.pk}"><div class="card-body">'
            f'<p class="mb-0" role="status">{escape(str(item))}: {escape(done)}</p></div></li>'
        )
    if error:
        messages.error(request, f"{item}: {error}")
    else:
        messages.success(request, f"{item}: {done}")
    return redirect("reviews:mine")


@require_POST
@login_required
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Select at least one item and keep or revoke.")
        return redirect("reviews:mine")
    if len(form.cleaned_data["ids"]) > services.BULK_LIMIT:
        messages.error(request, f"Decide at most {services.BULK_LIMIT} items at once.")
        return redirect("reviews:mine")
    try:
        result = services.review_items_decide_bulk(
            actor=_user(request),
            item_ids=form.cleaned_data["ids"],
            decision=form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
            http_request=request,
        )
    except ReviewError as exc:
        messages.error(request, exc.message)
        return redirect("reviews:mine")
    if result.decided:
        verb = "Kept" if form.cleaned_data["decision"] == Decision.KEEP else "Revoking"
        messages.success(request, f"{verb} {len(result.decided)} item(s).")
    for pk, why in sorted(result.refused.items()):
        messages.error(request, f"Item #{pk}: {why}")
    return redirect("reviews:mine")


# --- campaigns ---------------------------------------------------------------------------------


def _can_manage(request: HttpRequest) -> bool:
    return request.user.has_perm(services.MANAGE_PERMISSION)


@require_GET
@permission_required(services.VIEW_PERMISSION, hide=True)
def campaigns(request: HttpRequest) -> HttpResponse:
    rows = Campaign.objects.annotate(
        decided=Count("items", filter=~Q(items__decision=Decision.UNDECIDED))
    )[:200]
    return render(
        request,
        _partial(request, "reviews/campaigns.html", "table"),
        {"campaigns": rows, "can_manage": _can_manage(request)},
    )


@require_http_methods(["GET", "POST"])
@permission_required(services.MANAGE_PERMISSION, hide=True)
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=user,
                name=data["name"],
                reviewer_rule=data["reviewer_rule"],
                reviewer_okta_id=data["reviewer"],
                end_rule=data["end_rule"],
                starts_at=data["starts_at"],
                due_at=data["due_at"],
                http_request=request,
                **form.scope(),
            )
        except ReviewError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"{campaign.name}: {campaign.item_count} item(s) to review."
                if campaign.is_active
                else f"{campaign.name} starts {campaign.starts_at:%Y-%m-%d %H:%M}.",
            )
            if _htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = campaign.get_absolute_url()
                return response
            return redirect(campaign)
    template = _partial(request, "reviews/campaign_form.html", "form")
    return render(request, template, {"form": form})


def _report(campaign: Campaign) -> dict[str, Any]:
    counts = campaign.items.aggregate(
        total=Count("id"),
        kept=Count("id", filter=Q(decision=Decision.KEEP)),
        revoked=Count("id", filter=Q(decision=Decision.REVOKE)),
        removed=Count("id", filter=Q(okta_outcome="succeeded")),
        failed=Count("id", filter=Q(okta_outcome="failed")),
        pending=Count("id", filter=Q(okta_outcome="pending")),
    )
    counts["undecided"] = counts["total"] - counts["kept"] - counts["revoked"]
    rows = list(
        campaign.items.values_list("reviewer_okta_id")
        .annotate(total=Count("id"), decided=Count("id", filter=~Q(decision="")))
        .order_by("reviewer_okta_id")
    )
    names = _names({okta_id for okta_id, _, _ in rows})
    reviewers = [
        {"label": names.get(okta_id, okta_id) or "Admins", "total": total, "decided": decided}
        for okta_id, total, decided in rows
    ]
    revocations = list(
        campaign.items.filter(decision=Decision.REVOKE).order_by("resource_label", "id")[:500]
    )
    return {"counts": counts, "reviewers": reviewers, "revocations": revocations}


@require_GET
@permission_required(services.VIEW_PERMISSION, hide=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {"campaign": campaign, "can_manage": _can_manage(request), **_report(campaign)}
    return render(request, _partial(request, "reviews/campaign_detail.html", "report"), context)


@require_POST
@permission_required(services.MANAGE_PERMISSION, hide=True)
def campaign_end(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    summary = services.campaign_end(actor=user, campaign_id=campaign.pk, http_request=request)
    if summary is None:
        messages.error(request, f"{campaign.name} is not in review: nothing to end.")
    else:
        messages.success(
            request,
            f"{campaign.name} ended: {summary.kept} kept and {summary.revoked} revoked by its "
            f"end rule; {summary.not_revocable} could not be revoked from Gatehouse.",
        )
    return redirect(campaign)


EXPORT_COLUMNS = (
    "id",
    "kind",
    "resource_id",
    "resource_label",
    "group_type",
    "subject_id",
    "subject_login",
    "subject_label",
    "subject_status",
    "subject_department",
    "subject_manager_id",
    "subject_last_login",
    "grant_id",
    "granted_at",
    "expires_at",
    "reviewer_okta_id",
    "delegated_by",
    "delegated_at",
    "decision",
    "decided_by",
    "decided_at",
    "note",
    "operation_id",
    "okta_outcome",
    "okta_message",
)


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(campaign: Campaign, head_id: int, head_hash: str) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(["campaign", campaign.pk, campaign.name])
    yield writer.writerow(["audit_chain_head_event_id", head_id])
    yield writer.writerow(["audit_chain_head_hash", head_hash])
    yield writer.writerow([])
    yield writer.writerow(EXPORT_COLUMNS)
    rows = campaign.items.order_by("id").values_list(*EXPORT_COLUMNS)
    for row in stream(rows):
        yield writer.writerow([canonical_time(v) if hasattr(v, "astimezone") else v for v in row])


def _jsonl_lines(campaign: Campaign, head_id: int, head_hash: str) -> Iterator[str]:
    head = {
        "campaign_id": campaign.pk,
        "campaign": campaign.name,
        "audit_chain_head_event_id": head_id,
        "audit_chain_head_hash": head_hash,
    }
    yield json.dumps(head, ensure_ascii=False) + "\n"
    rows = campaign.items.order_by("id").values_list(*EXPORT_COLUMNS)
    for row in stream(rows):
        values = [canonical_time(v) if hasattr(v, "astimezone") else v for v in row]
        yield json.dumps(dict(zip(EXPORT_COLUMNS, values, strict=True)), ensure_ascii=False) + "\n"


EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", _csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", _jsonl_lines),
}


@require_GET
@permission_required(services.VIEW_PERMISSION, hide=True)
def campaign_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    """The campaign's items as CSV or JSON lines. The export is itself an audit event, and the
    file carries that event's id and hash, the chain's head when it was made: ``audit_verify``
    checks the chain up to it, so the auditor knows the trail behind the file is intact."""
    user = _user(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest("Export as csv or jsonl.", content_type="text/plain")
    content_type, lines = EXPORT_FORMATS[fmt]
    event = audit_record(
        action="review_campaign.exported",
        actor=user,
        target_type="review_campaign",
        target_id=str(campaign.pk),
        target_label=campaign.name,
        detail={"format": fmt, "items": campaign.item_count, "status": campaign.status},
        request=request,
    )
    response = StreamingHttpResponse(
        lines(campaign, event.pk, event.hash), content_type=content_type
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="review-{campaign.pk}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Audit-Chain-Head"] = f"{event.pk}:{event.hash}"
    return response
