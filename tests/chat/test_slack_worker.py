"""Slack approvals with a real Celery worker: the stage's message, the updates after a click and
the requester's news are posted by the worker (asynchronously, after commit), not the web."""

from __future__ import annotations

import json
from typing import Any

import pytest

from approvals.models import Decision, RequestStatus
from chat.models import SlackMessage
from tests.approvals.conftest import People, item_make, submit
from tests.fixtures.slack import SlackEmulator

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_slack_approval_through_the_worker(
    celery_worker: Any, slack_emulator: SlackEmulator
) -> None:
    people = People()
    slack_emulator.add_user("olive.jones@acme.com", "Olive Jones")
    req = submit(people, item_make(policy="Approver group", approver_group=people.approvers))

    celery_worker.wait_for(
        lambda: SlackMessage.objects.filter(request=req).count() == 2,
        timeout=60,
        what="the approvers' Slack messages",
    )
    [to_omar] = slack_emulator.messages(to="omar.haddad@acme.com")
    assert len(slack_emulator.messages(to="olive.jones@acme.com")) == 1

    answer = slack_emulator.click(to_omar, "approve")
    assert answer["status"] == 200, answer
    assert Decision.objects.get(request=req).decider == people.u["omar"]
    req.refresh_from_db()
    assert req.status in (RequestStatus.FULFILLING, RequestStatus.APPROVED, RequestStatus.FAILED)

    approvers = {
        slack_emulator.user_id(e) for e in ("omar.haddad@acme.com", "olive.jones@acme.com")
    }

    def everyone_updated() -> bool:
        every = slack_emulator.messages()
        return all(m["updates"] == 1 for m in every if m["user"] in approvers) and bool(
            slack_emulator.messages(to="maya.chen@acme.com")
        )

    celery_worker.wait_for(everyone_updated, timeout=60, what="the updates and the news")
    shown = {m["user"]: json.dumps(m["blocks"]) for m in slack_emulator.messages()}
    assert "Approved by Omar Haddad at" in shown[slack_emulator.user_id("omar.haddad@acme.com")]
    assert "Already decided by Omar Haddad" in shown[slack_emulator.user_id("olive.jones@acme.com")]
    [news] = slack_emulator.messages(to="maya.chen@acme.com")
    assert "was approved by Omar Haddad" in news["text"]
