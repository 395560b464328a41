"""Celery entry points for chat: thin, they take ids and call a service. Slack being
unreachable (or answering 429 / 5xx) is tried again with backoff; every task is safe to repeat."""

from __future__ import annotations

from celery import Task, shared_task

from chat import services
from chat.slack import SlackUnavailable
from chat.teams import TeamsUnavailable
from core.notes import retry_delay

RETRIES = 8


def _again(task: Task, exc: SlackUnavailable | TeamsUnavailable) -> Exception:
    return task.retry(exc=exc, countdown=retry_delay(task.request.retries))


@shared_task(name="chat.slack_stage_opened", bind=True, max_retries=RETRIES)
def slack_stage_opened(self: Task, request_id: int, stage: int) -> int:
    try:
        return services.stage_messages_send(request_id=request_id, stage=stage)
    except SlackUnavailable as exc:
        raise _again(self, exc) from exc


@shared_task(name="chat.slack_refresh", bind=True, max_retries=RETRIES)
def slack_refresh(self: Task, request_id: int) -> int:
    try:
        return services.messages_refresh(request_id=request_id)
    except SlackUnavailable as exc:
        raise _again(self, exc) from exc


@shared_task(name="chat.slack_tell_requester", bind=True, max_retries=RETRIES)
def slack_tell_requester(self: Task, request_id: int, event: str) -> bool:
    try:
        return services.requester_tell(request_id=request_id, event=event)
    except SlackUnavailable as exc:
        raise _again(self, exc) from exc


@shared_task(name="chat.slack_tell", bind=True, max_retries=RETRIES)
def slack_tell(self: Task, slack_user: str, text: str) -> None:
    try:
        services.person_tell(slack_user=slack_user, text=text)
    except SlackUnavailable as exc:
        raise _again(self, exc) from exc


@shared_task(name="chat.teams_notify", bind=True, max_retries=RETRIES)
def teams_notify(self: Task, request_id: int, event: str, stage: int) -> bool:
    try:
        return services.teams_notify(request_id=request_id, event=event, stage=stage)
    except TeamsUnavailable as exc:
        raise _again(self, exc) from exc
