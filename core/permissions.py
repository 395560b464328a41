"""The one way a view asks whether the person may do something: ``user.has_perm(name)``.

Permission names are the roles' grants (accounts/roles.py ``ROLE_PERMISSIONS``); views and
services ask by name and know nothing of roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase


def permission_required(*perms: str, hide: bool = False) -> Callable[..., Any]:
    """Signed in and holding one of ``perms``; otherwise 403, or 404 when ``hide`` (pages about
    one object, whose existence strangers should not learn). Signed out: to the sign-in page."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not any(request.user.has_perm(perm) for perm in perms):
                if hide:
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
