"""What waits for the signed-in person's decision, counted once per HTTP request: the nav badge
and the inbox page both show it. Identity actions that need approval are access requests too
(kind ``identity.action``), so they are in the same count and the same rows."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest

from approvals.models import RequestStatus

# The navigation counts no further than this ("99+") and the inbox page no further than
# INBOX_LIMIT: an approver with thousands waiting does not pay for counting them all.
BADGE_LIMIT = 100
INBOX_LIMIT = 1000


# The rows of ``AccessRequest.objects.waiting_for``, counted from the person's undecided approver
# rows (a partial index) outward: counting from the requests side lets PostgreSQL walk every
# request's primary key, ~30 ms at 100,000 requests where this takes ~6 ms. Written in SQL
# because it runs on every page: Django compiles it in ~1 ms of CPU, ten times its cost here.
_WAITING = """
SELECT COUNT(*) FROM (
  SELECT 1 FROM approvals_requestapprover a
  WHERE a.okta_id = %s AND a.decided_at IS NULL AND EXISTS (
    SELECT 1 FROM approvals_accessrequest r
    WHERE r.id = a.request_id AND r.status = %s AND r.current_stage = a.stage)
  LIMIT %s) waiting
"""


def waiting_count(okta_id: str | None, *, at_most: int | None = None) -> int:
    """How many requests wait at a stage this person decides, up to ``at_most``."""
    if not okta_id:
        return 0
    with connection.cursor() as cursor:
        # LIMIT of the largest bigint: "no limit" in a form both databases accept.
        cursor.execute(_WAITING, [okta_id, RequestStatus.PENDING, at_most or 2**63 - 1])
        return int(cursor.fetchone()[0])


def waiting(request: HttpRequest, *, up_to: int = BADGE_LIMIT) -> int:
    """Requests at a stage this person decides, counted up to ``up_to``: one COUNT, kept on
    the HTTP request for the navigation and the page."""
    found: tuple[int, int] | None = getattr(request, "_gatehouse_waiting", None)
    if found is not None and (found[0] < found[1] or up_to <= found[1]):
        return min(found[0], up_to)
    user = request.user
    okta_id = getattr(user, "okta_id", None) if user.is_authenticated else None
    count = waiting_count(okta_id, at_most=up_to)
    request._gatehouse_waiting = (count, up_to)  # type: ignore[attr-defined]
    return count


def badge_label(count: int) -> str:
    """How the navigation shows a count: at most "99+"."""
    return f"{BADGE_LIMIT - 1}+" if count >= BADGE_LIMIT else str(count)
