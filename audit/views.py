"""The audit pages: the trail with filters and keyset paging, one event, exports, verification.

Access is by permission, not by role (``audit`` knows nothing of portal roles): the
authentication backend grants ``audit.view_auditevent`` and ``audit.export_auditevent``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from audit.chain import EVENT_COLUMNS, canonical_time, event_hash_matches, stream
from audit.forms import ACTION_EXAMPLE, AuditFilterForm
from audit.models import AuditEvent, AuditVerification
from audit.services import EXPORT_PERMISSION, VIEW_PERMISSION, audit_record, verification_start
from audit.streaming import stream_status
from core.permissions import permission_required


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


PAGE_SIZE = 50
EXPORT_COLUMNS = EVENT_COLUMNS


@dataclass
class EventPage:
    events: list[AuditEvent]
    newer_id: int | None  # page with ?after=<newer_id> when newer events match
    older_id: int | None  # page with ?before=<older_id> when older events match


def _event_page(queryset: Any, *, before: int | None, after: int | None) -> EventPage:
    """One page, newest first, by keyset on id: one query, two when paging back from the end."""
    if after is not None:
        rows = list(queryset.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        events = rows[:PAGE_SIZE][::-1]
        has_older = bool(events) and queryset.filter(id__lt=events[-1].id).exists()
    else:
        if before is not None:
            queryset = queryset.filter(id__lt=before)
        rows = list(queryset.order_by("-id")[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        events = rows[:PAGE_SIZE]
        has_newer = before is not None and bool(events)
    return EventPage(
        events=events,
        newer_id=events[0].id if has_newer else None,
        older_id=events[-1].id if has_older else None,
    )


def _query(params: dict[str, str], **paging: int | str) -> str:
    return urlencode({**params, **paging})


@require_GET
@permission_required(VIEW_PERMISSION)
def event_list(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = _event_page(
            form.apply(AuditEvent.objects.all()),
            before=form.cleaned_data["before"],
            after=form.cleaned_data["after"],
        )
    params = form.filter_params()
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "filter_query": _query(params),
        "newer_query": _query(params, after=page.newer_id) if page and page.newer_id else "",
        "older_query": _query(params, before=page.older_id) if page and page.older_id else "",
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
        "action_example": ACTION_EXAMPLE,
    }
    # A history restore (back button, cache miss) wants the whole page, not the fragment.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "audit/event_list.html#results", context)
        # The address bar shows the filters that matter, not every empty field of the form.
        paging = {
            name: str(request.GET[name]) for name in ("before", "after") if request.GET.get(name)
        }
        query = _query(params, **paging) if form.is_valid() else request.GET.urlencode()
        list_url = reverse("audit:list")
        return push_url(response, f"{list_url}?{query}" if query else list_url)
    context["verification"] = AuditVerification.objects.first()
    context["streams"] = stream_status()
    return render(request, "audit/event_list.html", context)


@require_GET
@permission_required(VIEW_PERMISSION)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, pk=pk)
    context = {
        "event": event,
        "detail_json": json.dumps(event.detail, indent=2, sort_keys=True, ensure_ascii=False),
        "hash_matches": event_hash_matches(event),
    }
    return render(request, "audit/event_detail.html", context)


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix a quote)."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_rows(form: AuditFilterForm) -> Iterator[tuple[Any, ...]]:
    queryset = form.apply(AuditEvent.objects.all()).order_by("id").values_list(*EXPORT_COLUMNS)
    yield from stream(queryset, chunk_size=2000)


def _csv_lines(form: AuditFilterForm) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for row in _export_rows(form):
        values = dict(zip(EXPORT_COLUMNS, row, strict=True))
        values["occurred_at"] = canonical_time(values["occurred_at"])
        values["detail"] = json.dumps(values["detail"], sort_keys=True, ensure_ascii=False)
        yield writer.writerow([csv_safe(values[name]) for name in EXPORT_COLUMNS])


def _jsonl_lines(form: AuditFilterForm) -> Iterator[str]:
    for row in _export_rows(form):
        values = dict(zip(EXPORT_COLUMNS, row, strict=True))
        values["occurred_at"] = canonical_time(values["occurred_at"])
        yield json.dumps(values, ensure_ascii=False) + "\n"


def _in_chunks(lines: Iterator[str], size: int = 65_536) -> Iterator[str]:
    """Join lines into ~64 KB pieces: one write per line is slow for a million lines."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", _csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", _jsonl_lines),
}


@require_GET
@permission_required(EXPORT_PERMISSION)
def event_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest("Export as csv or jsonl.", content_type="text/plain")
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponseBadRequest(f"Bad filter: {errors}", content_type="text/plain")
    audit_record(
        action="audit.exported",
        actor=request.user,
        target_type="audit_trail",
        target_label="Audit trail",
        detail={"format": fmt, "filters": form.filter_params()},
        request=request,
    )
    content_type, lines = EXPORT_FORMATS[fmt]
    response = StreamingHttpResponse(_in_chunks(lines(form)), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@permission_required(VIEW_PERMISSION)
def verify(request: HtmxHttpRequest) -> HttpResponse:
    verification = verification_start(actor=request.user)
    if request.htmx:
        return render(request, "audit/event_list.html#verification", {"verification": verification})
    return redirect("audit:list")


@require_GET
@permission_required(VIEW_PERMISSION)
def verification_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    verification = get_object_or_404(AuditVerification, pk=pk)
    if request.htmx:
        return render(request, "audit/event_list.html#verification", {"verification": verification})
    return redirect("audit:list")
