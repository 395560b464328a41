"""The API tokens page: make one (its secret shown once), see yours, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from api.forms import TokenForm
from api.models import SCOPES
from api.tokens import SERVICE_TOKENS_PERMISSION, token_create, token_revoke, tokens_visible_to
from core.errors import ServiceError


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    may_make_service = user.has_perm(SERVICE_TOKENS_PERMISSION)
    form = TokenForm(request.POST or None, may_make_service=may_make_service)
    secret = ""
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            made, secret = token_create(
                actor=user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                scopes=form.cleaned_data["scopes"],
                days=form.cleaned_data["days"],
                http_request=request,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = TokenForm(may_make_service=may_make_service)
    status = 400 if request.method == "POST" and not secret else 200
    context = {
        "form": form,
        "secret": secret,
        "made": made,
        "tokens": list(tokens_visible_to(user)[:200]),
        "scopes": SCOPES,
        "sees_all": may_make_service,
    }
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = token_revoke(actor=_user(request), token_id=pk, http_request=request)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{token} is revoked: calls with it are refused from now on.")
    return redirect("api_tokens:list")
