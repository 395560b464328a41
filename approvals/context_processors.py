from django.http import HttpRequest
from django.utils.functional import lazy

from approvals.inbox import badge_label, waiting


def inbox(request: HttpRequest) -> dict[str, object]:
    """How many decisions wait for the signed-in person: counted when a template first shows
    it (the navigation), so an HTMX fragment without the navigation asks nothing."""
    if not hasattr(request, "user"):
        return {"inbox_count": 0, "inbox_count_label": "0"}
    return {
        "inbox_count": lazy(lambda: waiting(request), int)(),
        "inbox_count_label": lazy(lambda: badge_label(waiting(request)), str)(),
    }
