"""/ask/: a sentence previewed (HTMX or a plain GET form), confirmed with a POST, and reports
shown at once with their CSV. The views only read the form and render: ``assistant.services``
previews and confirms, ``assistant.reports`` reads."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from assistant.interpret import EXAMPLES, MAX_TEXT, bad_input
from assistant.plan import Report
from assistant.reports import ReportRefused, Table, report_table
from assistant.services import AskRefused, Preview, ask_confirm, ask_preview


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "assistant/ask.html"
    if request.htmx and not request.htmx.boosted:  # type: ignore[attr-defined]
        template += "#answer"
        status = 200  # HTMX swaps only 2xx: the message is the answer region's content
    context = {"examples": EXAMPLES, "max_text": MAX_TEXT, **context}
    return render(request, template, context, status=status)


def _marked(text: str, words: list[str]) -> SafeString:
    """The sentence with the words not understood marked (escaped first)."""
    out: str = escape(text)
    for word in words:
        out = re.sub(
            rf"(?i)\b({re.escape(escape(word))})\b", r'<mark data-testid="unknown">\1</mark>', out
        )
    return mark_safe(out)  # noqa: S308 - escaped above; only <mark> added


def _tables(preview: Preview, actor: User) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    refusals: list[str] = []
    for step in preview.plan.steps:
        if isinstance(step, Report):
            try:
                tables.append(report_table(actor=actor, report=step))
            except ReportRefused as exc:
                refusals.append(exc.message)
    return tables, refusals


@require_GET
@login_required
def ask(request: HttpRequest) -> HttpResponse:
    if "q" not in request.GET:
        return _render(request, {"text": ""})
    text = request.GET.get("q", "")
    problem = bad_input(text)
    if problem:
        # Never echo markup or 10 KB back into the page: the message says what was wrong.
        return _render(request, {"text": "", "bad": problem}, status=400)
    actor = _user(request)
    preview = ask_preview(actor=actor, text=text, request=request)
    tables, refusals = _tables(preview, actor)
    return _render(
        request,
        {
            "text": text,
            "preview": preview,
            "tables": tables,
            "report_refusals": refusals,
            "marked": _marked(text, [u.word for u in preview.plan.unknown]),
        },
    )


@require_POST
@login_required
def confirm(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("q", "")
    problem = bad_input(text)
    if problem:
        return _render(request, {"text": "", "bad": problem}, status=400)
    try:
        done = ask_confirm(
            actor=_user(request),
            text=text,
            fingerprint=request.POST.get("fingerprint", ""),
            request=request,
        )
    except AskRefused as exc:
        preview = ask_preview(actor=_user(request), text=text, request=request)
        return _render(
            request,
            {"text": text, "preview": preview, "refused": exc.message, "marked": text},
            status=409,
        )
    return render(request, "assistant/done.html", {"text": text, "done": done})


@require_GET
@login_required
def report_csv(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    problem = bad_input(text)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    actor = _user(request)
    preview = ask_preview(actor=actor, text=text, request=request)
    if not preview.plan.is_report:
        return HttpResponse(
            "That is not a report: ask “show …”.", status=400, content_type="text/plain"
        )
    tables, refusals = _tables(preview, actor)
    if refusals:
        return HttpResponse(refusals[0], status=403, content_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out)
    for table in tables:
        writer.writerow(table.header)
        for row in table.rows:
            # A cell starting with = + - @ is read as a formula by spreadsheets.
            writer.writerow(["'" + c if c[:1] in "=+-@" else c for c in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="gatehouse-report.csv"'
    return response
