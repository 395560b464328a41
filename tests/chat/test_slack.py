"""Slack approvals over real HTTP: Gatehouse's client (slack_sdk) against the Slack emulator,
and the emulator's signed interaction POSTs against Gatehouse's live server.

The chat tasks a change sends are recorded (``tasks_sent``) and run here, in order, as a
worker would (tests/chat/test_slack_worker.py has a real worker do it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from celery import current_app
from django.test import Client
from django.urls import reverse

from approvals.models import AccessRequest, Decision, DecisionOutcome, RequestStatus
from approvals.services import decisions as approvals
from audit.models import AuditEvent
from chat import tasks as chat_tasks
from chat.models import SlackMessage
from okta.models import Operation
from tests.approvals.conftest import People, item_make, submit
from tests.fixtures.dispatch import TasksSent
from tests.fixtures.slack import SlackEmulator

pytestmark = pytest.mark.django_db(transaction=True)
assert chat_tasks  # imported so the tasks run here by name are registered

PRIYA = "priya.patel@acme.com"
MAYA = "maya.chen@acme.com"
OMAR = "omar.haddad@acme.com"
OLIVE = "olive.jones@acme.com"


class Chat:
    """The chat tasks sent so far, run once each in the order sent."""

    def __init__(self, sent: TasksSent) -> None:
        self.sent = sent
        self.done = 0

    def run(self) -> list[str]:
        ran = []
        while self.done < len(self.sent):
            task = self.sent[self.done]
            self.done += 1
            if task.name.startswith("chat."):
                current_app.tasks[task.name](*task.args)
                ran.append(task.name)
        return ran


@pytest.fixture
def people() -> People:
    return People()


@pytest.fixture
def chat(tasks_sent: TasksSent, slack_emulator: SlackEmulator, queued: list[int]) -> Chat:
    """Okta operations are recorded (``queued``), not sent to a broker."""
    return Chat(tasks_sent)


def opened(people: People, chat: Chat, policy: str = "Manager approval", **item: Any) -> Any:
    req = submit(people, item_make(policy=policy, **item))
    assert chat.run() == ["chat.slack_stage_opened"]
    return req


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" not in e
    ]


def unchanged(req: AccessRequest, slack_emulator: SlackEmulator) -> None:
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and req.current_stage == 1
    assert not Decision.objects.filter(request=req).exists()
    assert not Operation.objects.exists()
    assert not AuditEvent.objects.filter(
        action__in=["access_request.decided", "chat.slack.decided"]
    ).exists()
    assert all(m["updates"] == 0 for m in slack_emulator.messages())


def test_an_opened_stage_sends_its_approver_a_message_with_context_and_buttons(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat)
    [message] = slack_emulator.messages(to=PRIYA)
    text = blocks_text(message)
    assert "Engineering - Backend for Maya Chen" in text
    assert "on-call" in text and "30 days" in text and "*Stage:* 1 of 1" in text
    assert buttons(message) == ["approve", "deny"]
    values = {
        e.get("value") for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    }
    assert f"{req.pk}:1" in values
    stored = SlackMessage.objects.get(request=req, stage=1)
    assert (stored.channel, stored.ts, stored.slack_user) == (
        message["channel"],
        message["ts"],
        slack_emulator.user_id(PRIYA),
    )
    assert stored.approver_okta_id == people.priya.id
    assert slack_emulator.messages(to=MAYA) == []  # the requester is not asked


def test_a_signed_click_decides_through_the_service_and_everyone_hears(
    people: People, chat: Chat, slack_emulator: SlackEmulator, queued: list[int]
) -> None:
    req = opened(people, chat)
    [message] = slack_emulator.messages(to=PRIYA)

    answer = slack_emulator.click(message, "approve")

    assert answer["status"] == 200, answer
    req.refresh_from_db()
    assert req.status == RequestStatus.FULFILLING  # approved, its change on the way to Okta
    decision = Decision.objects.get(request=req)
    assert (decision.decider, decision.outcome, decision.stage) == (
        people.u["priya"],
        DecisionOutcome.APPROVE,
        1,
    )
    [operation] = Operation.objects.filter(correlation=f"request:{req.pk}")
    assert queued == [operation.pk]  # Okta fulfilment queued as for a decision on the web
    assert AuditEvent.objects.filter(
        action="access_request.decided", target_id=str(req.pk)
    ).exists()
    via = AuditEvent.objects.get(action="chat.slack.decided", target_id=str(req.pk))
    assert via.detail["channel"] == "slack" and via.actor_okta_id == people.priya.id
    assert set(chat.run()) == {"chat.slack_refresh", "chat.slack_tell_requester"}

    [updated] = slack_emulator.messages(to=PRIYA)
    assert updated["updates"] == 1
    assert "Approved by Priya Patel at" in blocks_text(updated)
    assert buttons(updated) == []
    [told] = slack_emulator.messages(to=MAYA)
    assert "was approved by Priya Patel" in told["text"]


def test_deny_is_told_as_denied(people: People, chat: Chat, slack_emulator: SlackEmulator) -> None:
    req = opened(people, chat)
    [message] = slack_emulator.messages(to=PRIYA)
    assert slack_emulator.click(message, "deny")["status"] == 200
    req.refresh_from_db()
    assert req.status == RequestStatus.DENIED
    chat.run()
    assert "Denied by Priya Patel" in blocks_text(slack_emulator.messages(to=PRIYA)[0])
    assert "was denied by Priya Patel" in slack_emulator.messages(to=MAYA)[0]["text"]


@pytest.mark.parametrize("forge", ["signature", "body", "stale", "unsigned"])
def test_a_forged_or_stale_interaction_is_refused_and_changes_nothing(
    forge: str, people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat)
    [message] = slack_emulator.messages(to=PRIYA)
    answer = slack_emulator.click(message, "approve", forge=forge)
    assert answer["status"] == 401, answer
    assert chat.run() == []
    unchanged(req, slack_emulator)


def test_a_replayed_interaction_is_refused_and_changes_nothing(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat, policy="Manager then owners", owners=[people.omar.id])
    [message] = slack_emulator.messages(to=PRIYA)
    first = slack_emulator.click(message, "approve")
    assert first["status"] == 200
    req.refresh_from_db()
    assert req.current_stage == 2

    again = slack_emulator.replay(first["sent"])

    assert again["status"] == 409, again
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and req.current_stage == 2
    assert Decision.objects.filter(request=req).count() == 1


def test_only_the_person_the_message_was_sent_to_may_click(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat)
    [message] = slack_emulator.messages(to=PRIYA)
    for someone in (OMAR, MAYA):  # another approver elsewhere; the requester herself
        answer = slack_emulator.click(message, "approve", as_user=slack_emulator.user_id(someone))
        assert answer["status"] == 403, answer
    assert chat.run() == []
    unchanged(req, slack_emulator)


def test_a_button_pointing_at_a_strangers_request_is_refused(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat)
    other = submit(people, item_make("Sales - CRM", policy="Manager approval"), who="stan")
    chat.run()
    [message] = slack_emulator.messages(to=PRIYA)
    patched = {
        "actions": [
            {"type": "button", "action_id": "approve", "block_id": "x", "value": f"{other.pk}:1"}
        ]
    }
    answer = slack_emulator.click(message, "approve", payload_patch=patched)
    assert answer["status"] == 403, answer
    unchanged(req, slack_emulator)
    other.refresh_from_db()
    assert other.status == RequestStatus.PENDING
    assert not Decision.objects.filter(request=other).exists()


def test_every_approvers_message_is_updated_and_a_late_click_changes_nothing(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.add_user(OLIVE, "Olive Jones")
    req = opened(people, chat, policy="Approver group", approver_group=people.approvers)
    [to_omar] = slack_emulator.messages(to=OMAR)
    [to_olive] = slack_emulator.messages(to=OLIVE)

    assert slack_emulator.click(to_omar, "approve")["status"] == 200
    chat.run()

    omar_now = slack_emulator.messages(to=OMAR)[0]
    olive_now = slack_emulator.messages(to=OLIVE)[0]
    assert "Approved by Omar Haddad at" in blocks_text(omar_now)
    assert "Already decided by Omar Haddad: approved" in blocks_text(olive_now)
    assert buttons(omar_now) == buttons(olive_now) == []

    late = slack_emulator.click(to_olive, "deny", original=True)  # a client not yet updated
    assert late["status"] == 200 and json.loads(late["answer"])["ok"] is False
    req.refresh_from_db()
    assert req.status != RequestStatus.DENIED
    assert list(
        Decision.objects.filter(request=req).values_list("decider__username", flat=True)
    ) == [OMAR]


def test_a_stage_decided_on_the_web_updates_the_slack_messages(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat)
    approvals.access_request_decide(
        actor=people.u["priya"], request_id=req.pk, outcome=DecisionOutcome.DENY
    )
    chat.run()
    [message] = slack_emulator.messages(to=PRIYA)
    assert "Denied by Priya Patel" in blocks_text(message) and buttons(message) == []
    late = slack_emulator.click(message, "approve", original=True)  # a client not yet updated
    assert late["status"] == 200 and json.loads(late["answer"])["ok"] is False
    req.refresh_from_db()
    assert req.status == RequestStatus.DENIED
    assert Decision.objects.filter(request=req).count() == 1


def test_approvers_slack_does_not_know_get_email_only(
    people: People, chat: Chat, slack_emulator: SlackEmulator
) -> None:
    req = opened(people, chat, policy="Approver group", approver_group=people.approvers)
    assert [m["user"] for m in slack_emulator.messages()] == [slack_emulator.user_id(OMAR)]
    assert list(
        SlackMessage.objects.filter(request=req).values_list("approver_okta_id", flat=True)
    ) == [people.omar.id]


def test_slack_off_sends_no_tasks_and_the_endpoint_is_not_found(
    people: People, tasks_sent: TasksSent, settings: Any
) -> None:
    settings.SLACK_BOT_TOKEN = settings.SLACK_SIGNING_SECRET = ""
    submit(people, item_make())
    assert not [t for t in tasks_sent if t.name.startswith("chat.")]
    response = Client().post(reverse("chat:slack_interactions"), {"payload": "{}"})
    assert response.status_code == 404


def test_the_endpoint_takes_post_only(settings: Any) -> None:
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = "xoxb-x", "secret"
    assert Client().get(reverse("chat:slack_interactions")).status_code == 405
    assert Client().post(reverse("chat:slack_interactions"), {}).status_code == 401
