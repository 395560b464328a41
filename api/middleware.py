"""One audit event per API call, named by its token (``api.call``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.models import ApiToken
from audit.services import audit_record

API_PREFIX = "/api/"


def api_call_audit(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        token = getattr(request, "auth", None)
        if request.path.startswith(API_PREFIX) and isinstance(token, ApiToken):
            audit_record(
                action="api.call",
                actor=token.owner,
                target_type="api_token",
                target_id=str(token.pk),
                target_label=str(token),
                outcome="success" if response.status_code < 400 else "failure",
                detail={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "via": token.name,
                    "via_kind": token.kind,
                },
                request=request,
            )
        return response

    return middleware
