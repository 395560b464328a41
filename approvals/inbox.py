"""What waits for the signed-in person's decision, counted once per HTTP request: the nav badge
and the inbox page both show it. Identity actions that need approval are access requests too
(kind ``identity.action``), so they are in the same count and the same rows."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from accounts.models import User
from approvals.queries import waiting_count

# The navigation counts no further than this ("99+") and the inbox page no further than
# INBOX_LIMIT: an approver with thousands waiting does not pay for counting them all.
BADGE_LIMIT = 100
INBOX_LIMIT = 1000


def waiting(request: HttpRequest, *, up_to: int = BADGE_LIMIT) -> int:
    """Requests this person may decide now, counted up to ``up_to``: one COUNT, kept on the
    HTTP request for the navigation and the page."""
    found: tuple[int, int] | None = getattr(request, "_gatehouse_waiting", None)
    if found is not None and (found[0] < found[1] or up_to <= found[1]):
        return min(found[0], up_to)
    user = request.user
    count = waiting_count(cast(User, user), at_most=up_to) if user.is_authenticated else 0
    request._gatehouse_waiting = (count, up_to)  # type: ignore[attr-defined]
    return count


def badge_label(count: int) -> str:
    """How the navigation shows a count: at most "99+"."""
    return f"{BADGE_LIMIT - 1}+" if count >= BADGE_LIMIT else str(count)
