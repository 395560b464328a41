"""Approvals email goes out in a Celery task after commit: what the task sends, what it does
when the mail server fails (retry only what failed, with backoff), and a real worker sending it."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any

import pytest
from celery import current_app
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction

from approvals import notifications, tasks
from approvals.models import AccessRequest, CatalogItem, RequestStatus
from approvals.services.decisions import access_request_decide, access_requests_decide_bulk
from approvals.services.requests import access_request_submit
from core.notes import retry_delay
from okta import operations
from tests.approvals.conftest import People, item_make
from tests.fixtures.dispatch import tasks_hold

REFUSED = "maya.chen@acme.com"


class RefusingBackend(LocmemBackend):
    """A mail server that cannot take mail for maya (down for her domain, say) and takes the
    rest into ``mail.outbox``."""

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if any(REFUSED in m.to for m in messages):
            raise smtplib.SMTPRecipientsRefused({REFUSED: (451, b"try again later")})
        return super().send_messages(messages)


class UnreachableBackend(LocmemBackend):
    """A mail server nobody can connect to."""

    def open(self) -> bool:
        raise ConnectionRefusedError("no mail server on port 25")


@pytest.fixture
def refusing_mail_server(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}


def pending(people: People, count: int) -> list[AccessRequest]:
    return [
        access_request_submit(
            requester=people.u["maya"],
            item=item_make(f"Mail {i}"),
            reason="on-call",
            duration_days=30,
        )
        for i in range(count)
    ]


@pytest.mark.django_db
def test_send_notifications_sends_each_note(people: People, backend: CatalogItem) -> None:
    (req,) = pending(people, 1)
    access_request_decide(actor=people.u["priya"], request_id=req.pk, outcome="DENY")
    notes = [
        notifications.to_requester(req.pk, "decided"),
        notifications.to_stage_approvers(req.pk, 1),
    ]
    assert tasks.send_notifications([list(n) for n in notes]) == 2
    assert [m.to for m in mail.outbox] == [["maya.chen@acme.com"]]  # priya has decided stage 1
    assert mail.outbox[0].subject == "[Gatehouse] Mail 0: denied"
    assert f"/requests/{req.pk}/" in mail.outbox[0].body


@pytest.mark.django_db
def test_note_about_a_request_gone_is_dropped_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    retried: list[Any] = []
    monkeypatch.setattr(tasks.send_notifications, "retry", lambda **kw: retried.append(kw))
    assert tasks.send_notifications([["requester", 999999, "decided"]]) == 1
    assert mail.outbox == [] and retried == []


@pytest.mark.django_db
def test_mail_server_failure_retries_only_the_refused_notes_with_backoff(
    people: People, refusing_mail_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = access_request_submit(
        requester=people.u["maya"], item=item_make("Mail"), reason="x", duration_days=30
    )
    notes = [
        list(notifications.to_stage_approvers(req.pk, 1)),  # to priya: accepted
        list(notifications.to_requester(req.pk, "decided")),  # to maya: refused
    ]
    retried: list[dict[str, Any]] = []

    def retry(**kwargs: Any) -> Exception:
        retried.append(kwargs)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.send_notifications, "retry", retry)
    with pytest.raises(RuntimeError, match="retry"):
        tasks.send_notifications(notes)
    assert [m.to for m in mail.outbox] == [["priya.patel@acme.com"]]
    assert retried == [{"args": [[notes[1]]], "countdown": 30}]
    assert [retry_delay(n) for n in (0, 1, 2, 10)] == [30, 60, 120, 3600]
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING  # nothing about the request was touched


@pytest.mark.django_db
def test_unreachable_mail_server_keeps_every_note_for_the_retry(
    people: People, backend: CatalogItem, settings: Any
) -> None:
    (req,) = pending(people, 1)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.UnreachableBackend"}}
    notes = [["stage_approvers", req.pk, 1], ["requester", req.pk, "decided"]]
    assert notifications.notes_send(notes) == notes
    assert mail.outbox == []


@pytest.mark.django_db
def test_broker_down_after_commit_does_not_fail_the_decision(
    people: People,
    backend: CatalogItem,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (req,) = pending(people, 1)

    def broker_down(name: str, *args: Any, **options: Any) -> None:
        raise ConnectionError("the broker is down")

    # Every message the email task would publish (by name, core.dispatch) fails.
    monkeypatch.setattr(current_app._get_current_object(), "send_task", broker_down)
    tasks_hold(monkeypatch, operations.OPERATION_RUN_TASK)  # okta's own: no Okta here
    with django_capture_on_commit_callbacks(execute=True):
        access_request_decide(actor=people.u["priya"], request_id=req.pk, outcome="APPROVE")
    req.refresh_from_db()
    assert req.status == RequestStatus.FULFILLING


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_bulk_decision_emails(
    celery_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks_hold(monkeypatch, operations.OPERATION_RUN_TASK)  # no Okta here
    people = People()
    requests = pending(people, 2)
    with transaction.atomic():
        result = access_requests_decide_bulk(
            actor=people.u["priya"], request_ids=[r.pk for r in requests], outcome="DENY"
        )
        assert result.decided == [r.pk for r in requests]
    # The demo's and the tests' workers print email to their console (DEBUG's backend).
    for req in requests:
        link = f"/requests/{req.pk}/"
        celery_worker.wait_for(
            lambda link=link: link in celery_worker.log(),
            timeout=60,
            what=f"the email about {link}",
        )
    assert "approvals.send_notifications" in celery_worker.log()
    assert "To: maya.chen@acme.com" in celery_worker.log()
