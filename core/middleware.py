"""Refuse request bodies over ``REQUEST_MAX_BYTES`` before anything reads them.

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` counts form fields but not the file parts of a multipart
body, which Django streams to memory and then to temporary files whenever a POST is parsed (the
CSRF check parses it for anyone holding a CSRF cookie, signed in or not). Gatehouse accepts no
uploads, so a body declared larger than the limit is answered 413 unread.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def request_size_limit(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body without a valid length either
        limit: int = settings.REQUEST_MAX_BYTES
        if length > limit:
            return HttpResponse(
                f"Request body too large: {length} bytes, the limit is {limit}.\n",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return get_response(request)

    return middleware
