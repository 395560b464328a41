"""The tests' one seam on Celery (tests/fixtures/dispatch.py): messages sent by name through
core.dispatch.task_send are held back and recorded by whoever holds them; the rest go on."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app

from core.dispatch import task_send
from tests.fixtures.dispatch import TasksSent, tasks_hold


def test_tasks_hold_records_what_it_names_and_publishes_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[str] = []

    def broker(name: str, args: Any = (), **options: Any) -> None:
        published.append(name)

    monkeypatch.setattr(current_app._get_current_object(), "send_task", broker)
    held = tasks_hold(monkeypatch, "okta.operation_run")
    task_send("okta.operation_run", 7, countdown=2.5)
    task_send("audit.verify_chain", 8)
    assert held.named("okta.operation_run") == [[7]]
    assert held[0].options["countdown"] == 2.5
    assert published == ["audit.verify_chain"]


def test_two_holders_in_one_test_each_see_what_they_hold(
    monkeypatch: pytest.MonkeyPatch, tasks_sent: TasksSent
) -> None:
    runs: list[int] = []
    tasks_hold(monkeypatch, "okta.operation_run", each=lambda sent: runs.append(*sent.args))
    task_send("okta.operation_run", 7)
    task_send("audit.verify_chain", 8)
    assert runs == [7]
    assert [sent.name for sent in tasks_sent] == ["okta.operation_run", "audit.verify_chain"]
