"""What approvals tells the layers above it, once a change has committed.

Sent from ``notifications.send_after_commit`` (the one place a service says whom to tell), so
a receiver (chat/ posts to Slack) never runs inside the request's transaction and approvals
imports nothing of its receivers. Receivers should only queue work (``core.dispatch``).

- ``stage_opened(request_id, stage)``: a stage is waiting for its approvers.
- ``request_decided(request_id, event)``: the request moved on: a stage was decided, the request
  was approved, denied, or ``"expired"`` with nobody deciding.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

from core.notes import Note

stage_opened = Signal()
request_decided = Signal()


def notes_committed(notes: Iterable[Note]) -> None:
    """Send the signals the committed ``notes`` stand for."""
    for kind, object_id, detail in notes:
        if kind == "stage_approvers":
            stage_opened.send(sender=None, request_id=object_id, stage=detail)
        elif kind == "requester" and detail in ("decided", "expired"):
            request_decided.send(sender=None, request_id=object_id, event=detail)
