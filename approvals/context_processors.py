from django.http import HttpRequest

from approvals.models import AccessRequest


def inbox(request: HttpRequest) -> dict[str, object]:
    """How many requests wait for the signed-in person's decision (one COUNT query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "okta_id", None):
        return {"inbox_count": 0}
    from approvals.inbox import extra_waiting_count

    count = AccessRequest.objects.waiting_for(user.okta_id).count()
    return {"inbox_count": count + extra_waiting_count(user)}
