"""approvals' signals, turned into Slack and Teams work for a Celery worker (sent by name, after the
change committed: approvals sends its signals from ``transaction.on_commit``)."""

from __future__ import annotations

from typing import Any

from chat import slack, teams
from core.dispatch import task_send


def stage_opened(sender: Any, *, request_id: int, stage: int, **_: Any) -> None:
    if slack.enabled():
        task_send("chat.slack_stage_opened", request_id, stage)
    if teams.enabled():
        task_send("chat.teams_notify", request_id, "stage_opened", stage)


def request_decided(sender: Any, *, request_id: int, event: str, **_: Any) -> None:
    if slack.enabled():
        task_send("chat.slack_refresh", request_id)
        task_send("chat.slack_tell_requester", request_id, event)
    if teams.enabled():
        task_send("chat.teams_notify", request_id, event, 0)
