"""approvals' signals, turned into Slack work for a Celery worker (sent by name, after the
change committed: approvals sends its signals from ``transaction.on_commit``)."""

from __future__ import annotations

from typing import Any

from chat import slack
from core.dispatch import task_send


def stage_opened(sender: Any, *, request_id: int, stage: int, **_: Any) -> None:
    if slack.enabled():
        task_send("chat.slack_stage_opened", request_id, stage)


def request_decided(sender: Any, *, request_id: int, event: str, **_: Any) -> None:
    if slack.enabled():
        task_send("chat.slack_refresh", request_id)
        task_send("chat.slack_tell_requester", request_id, event)
