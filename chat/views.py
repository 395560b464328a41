"""Slack's interactivity endpoint: authenticated by Slack's request signature, not a session."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chat import services, slack


@csrf_exempt  # Slack signs its requests instead (checked first thing in the service)
@require_POST
def slack_interactions(request: HttpRequest) -> JsonResponse:
    if not slack.enabled():
        raise Http404("Slack approvals are not configured.")
    answer = services.interaction_handle(
        body=request.body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
        http_request=request,
    )
    return JsonResponse(answer.body(), status=answer.status)
