from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answers while the web process serves requests (the demo and load balancers poll it)."""
    return JsonResponse({"ok": True})
