"""Logging filters (settings.LOGGING): what an operator reads should be what needs reading.

Each filter sits on the one logger whose records it judges, so it runs once per record, before
any handler formats it.
"""

from __future__ import annotations

import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from django.conf import settings
from django.core.exceptions import PermissionDenied


class StaticFilesServedFilter(logging.Filter):
    """Drops the development server's access lines for static files it served (2xx, 304):
    a page brings half a dozen of them. A missing static file (4xx, 5xx) is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None or status >= 400 or not isinstance(record.args, tuple):
            return True
        request_line = str(record.args[0]) if record.args else ""  # "GET /static/x HTTP/1.1"
        path = request_line.partition(" ")[2]
        return not path.startswith(settings.STATIC_URL)


class NoHostnameWarningFilter(logging.Filter):
    """Drops kombu's "No hostname was supplied" warning: the filesystem transport has no host,
    and kombu says so on every connection, in the worker and in beat alike."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No hostname was supplied.")


class PermissionDeniedOneLineFilter(logging.Filter):
    """A refused page (PermissionDenied, answered with the 403 page) is expected: it is logged
    as its one warning line, without the traceback Django attaches to it. Other exceptions
    keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


class PeriodicTaskLinesFilter(logging.Filter):
    """Drops the worker's "received" and "succeeded" lines for the tasks beat sends (several a
    minute, most finding nothing to do): the tasks people's actions queue keep theirs, and a
    periodic task that fails or retries is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in (LOG_RECEIVED, LOG_SUCCESS) or not isinstance(record.args, dict):
            return True
        periodic = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
        return record.args.get("name") not in periodic
