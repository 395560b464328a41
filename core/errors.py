"""The one error type a service raises to refuse: its message is meant for the person who
acted and is shown to them as it is. Nothing has changed when it is raised."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a plain message; ``field`` names the form field it concerns, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
