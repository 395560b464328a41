"""What waits for the signed-in person's decision, counted once per HTTP request: the nav badge
and the inbox page both show it. Identity actions that need approval are access requests too
(kind ``identity.action``), so they are in the same count and the same rows."""

from __future__ import annotations

from django.http import HttpRequest

from approvals.models import AccessRequest


def waiting(request: HttpRequest) -> int:
    """Requests at a stage this person decides (one COUNT, cached on the HTTP request)."""
    found: int | None = getattr(request, "_gatehouse_waiting", None)
    if found is not None:
        return found
    user = request.user
    okta_id = getattr(user, "okta_id", None)
    found = AccessRequest.objects.waiting_for(okta_id).count() if user.is_authenticated else 0
    request._gatehouse_waiting = found  # type: ignore[attr-defined]
    return found
