from django.http import HttpRequest

from approvals.inbox import waiting


def inbox(request: HttpRequest) -> dict[str, object]:
    """How many decisions wait for the signed-in person (counted once per request)."""
    if not hasattr(request, "user"):
        return {"inbox_count": 0}
    return {"inbox_count": waiting(request)}
