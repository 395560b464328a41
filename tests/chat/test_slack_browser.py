"""The demo's Slack approval in a browser: the emulator's page shows Priya's message with its
buttons, pressing Approve decides Maya's request in Gatehouse (a signed interaction to the live
server), and after the worker's update the page shows the outcome instead of the buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from approvals.models import Decision, DecisionOutcome
from chat.models import SlackMessage
from tests.approvals.conftest import People, item_make, submit
from tests.fixtures.slack import SlackEmulator

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_approve_on_the_emulator_page(
    page: Page, celery_worker: Any, slack_emulator: SlackEmulator
) -> None:
    people = People()
    req = submit(people, item_make())
    celery_worker.wait_for(
        lambda: SlackMessage.objects.filter(request=req).exists(), timeout=60, what="the DM"
    )

    page.goto(f"{slack_emulator.url}/")
    message = page.locator("article", has_text="To Priya Patel")
    expect(message).to_contain_text("Approval needed: Engineering - Backend for Maya Chen")
    message.get_by_role("button", name="Approve").click()
    celery_worker.wait_for(
        lambda: Decision.objects.filter(request=req).exists(), timeout=30, what="the decision"
    )
    decision = Decision.objects.get(request=req)
    assert (decision.decider, decision.outcome) == (people.u["priya"], DecisionOutcome.APPROVE)
    celery_worker.wait_for(
        lambda: (
            "Approved by Priya Patel at"
            in json.dumps(slack_emulator.messages(to="priya.patel@acme.com")[0]["blocks"])
        ),
        timeout=60,
        what="the message's update",
    )
    page.reload()
    expect(message).to_contain_text("Approved by Priya Patel at")
    expect(message.get_by_role("button")).to_have_count(0)
    expect(page.locator("article", has_text="To Maya Chen")).to_contain_text(
        "was approved by Priya Patel"
    )
