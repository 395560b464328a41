from django.http import HttpRequest

from approvals.inbox import badge_label, waiting


def inbox(request: HttpRequest) -> dict[str, object]:
    """How many decisions wait for the signed-in person (counted once per request)."""
    if not hasattr(request, "user"):
        return {"inbox_count": 0, "inbox_count_label": "0"}
    count = waiting(request)
    return {"inbox_count": count, "inbox_count_label": badge_label(count)}
