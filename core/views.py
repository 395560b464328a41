from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused for its missing or stale CSRF token (``CSRF_FAILURE_VIEW``): the site's
    own page saying what happened and what to do, instead of Django's."""
    return render(request, "403_csrf.html", status=403)
