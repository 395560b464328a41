"""Celery messages, sent by task name through one function.

Senders name the task (``"okta.operation_run"``) instead of importing it, so a service never
imports its app's tasks module (which imports the service back) and no app imports the project's
Celery app. Tests have one seam to watch what is sent: ``task_send``.
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def task_send(name: str, *args: Any, countdown: float | None = None, retry: bool = True) -> None:
    """Publish one message for the task ``name`` with ``args``, to run after ``countdown``
    seconds (at once when None). ``retry=False`` makes one publish attempt: for a caller that
    must answer quickly even when the broker is down and has another way to catch up."""
    options: dict[str, Any] = {"retry": retry}
    if countdown is not None:
        options["countdown"] = max(countdown, 0.0)
    current_app.send_task(name, args=list(args), **options)
