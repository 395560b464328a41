"""Teams notifications over HTTP: Gatehouse posts Adaptive Cards to a channel's incoming
webhook (the emulator's) when a stage opens and when a request is decided; an outage is tried
again; no webhook configured = nothing sent."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from celery import current_app

from approvals.models import DecisionOutcome
from approvals.services import decisions as approvals
from chat import services
from chat import tasks as chat_tasks
from chat.teams import TeamsUnavailable
from tests.approvals.conftest import People, item_make, submit
from tests.fixtures.dispatch import TasksSent
from tests.fixtures.slack import SlackEmulator

pytestmark = pytest.mark.django_db(transaction=True)
assert chat_tasks  # imported so the tasks run here by name are registered


def run_teams(sent: TasksSent) -> int:
    ran = 0
    for task in sent:
        if task.name == "chat.teams_notify":
            current_app.tasks[task.name](*task.args)
            ran += 1
    sent.clear()
    return ran


def card(post: dict[str, Any]) -> dict[str, Any]:
    [attachment] = post["message"]["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def facts(content: dict[str, Any]) -> dict[str, str]:
    return {
        f["title"]: f["value"]
        for b in content["body"]
        if b["type"] == "FactSet"
        for f in b["facts"]
    }


def test_the_channel_hears_when_a_stage_opens_and_when_it_is_decided(
    teams_webhook: SlackEmulator, tasks_sent: TasksSent, queued: list[int]
) -> None:
    people = People()
    req = submit(people, item_make())
    assert run_teams(tasks_sent) == 1
    [opened] = teams_webhook.teams()
    content = card(opened)
    assert (
        content["body"][0]["text"]
        == "Approval needed: Engineering - Backend for Maya Chen (stage 1 of 1)"
    )
    assert facts(content) == {
        "Who": "Maya Chen",
        "What": "Engineering - Backend",
        "Why": "on-call",
        "Duration": "30 days",
        "Waiting for": "Priya Patel, Maya Chen's manager",
    }
    assert content["actions"][0]["url"].endswith(f"/requests/{req.pk}/")

    approvals.access_request_decide(
        actor=people.u["priya"], request_id=req.pk, outcome=DecisionOutcome.APPROVE
    )
    assert run_teams(tasks_sent) == 1
    decided = card(teams_webhook.teams()[1])
    assert decided["body"][0]["text"].startswith(
        "The request for Engineering - Backend for Maya Chen was approved by Priya Patel"
    )


def test_an_outage_is_tried_again_and_then_delivered(
    teams_webhook: SlackEmulator, tasks_sent: TasksSent
) -> None:
    req = submit(People(), item_make())
    teams_webhook.teams_fail(count=1, status=503)
    with pytest.raises(TeamsUnavailable):
        services.teams_notify(request_id=req.pk, event="stage_opened", stage=1)
    assert teams_webhook.teams() == []
    assert services.teams_notify(request_id=req.pk, event="stage_opened", stage=1) is True
    assert len(teams_webhook.teams()) == 1


def test_a_stage_decided_before_the_worker_runs_posts_no_stale_card(
    teams_webhook: SlackEmulator, tasks_sent: TasksSent, queued: list[int]
) -> None:
    people = People()
    req = submit(people, item_make())
    approvals.access_request_decide(
        actor=people.u["priya"], request_id=req.pk, outcome=DecisionOutcome.DENY
    )
    assert services.teams_notify(request_id=req.pk, event="stage_opened", stage=1) is False
    assert teams_webhook.teams() == []


def test_the_emulated_webhook_refuses_what_teams_refuses(teams_webhook: SlackEmulator) -> None:
    request = urllib.request.Request(
        teams_webhook.teams_webhook_url,
        data=json.dumps({"text": "not a card"}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert teams_webhook.teams() == []


def test_no_webhook_no_teams_tasks(tasks_sent: TasksSent, settings: Any) -> None:
    settings.TEAMS_WEBHOOK_URL = ""
    submit(People(), item_make())
    assert [t for t in tasks_sent if t.name.startswith("chat.teams")] == []
