"""The Okta event hook endpoint: verification, authentication, size and shape checks, dedupe,
and applying deliveries to the mirror."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from okta.hooks import (
    SWEEP_AFTER,
    hook_events_apply,
    hook_events_store,
    hook_events_sweep,
    hook_parse,
)
from okta.models import AppAssignment, GroupMembership, HookEvent, OktaApp, OktaGroup, OktaUser
from tests.accounts.conftest import person_make
from tests.browser.plugin import celery_broker, free_port
from tests.fixtures.dispatch import TasksSent

pytestmark = pytest.mark.django_db

URL = "/okta/event-hook/"
SECRET = "hook-secret-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _hook_secret(settings: Any) -> None:
    settings.OKTA_EVENT_HOOK_SECRET = SECRET


def event(uuid: str, event_type: str, *targets: tuple[str, str], published: str = "") -> dict:
    return {
        "uuid": uuid,
        "eventType": event_type,
        "published": published or "2026-11-25T10:00:00.000Z",
        "target": [{"type": t, "id": i} for t, i in targets],
    }


def delivery(*events: dict) -> bytes:
    return json.dumps(
        {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "data": {"events": list(events)},
        }
    ).encode()


def post(client: Client, body: bytes, auth: str | None = SECRET) -> Any:
    headers = {"Authorization": auth} if auth is not None else {}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def maya() -> OktaUser:
    return person_make("maya.chen@acme.com")


@pytest.fixture
def engineering() -> OktaGroup:
    return OktaGroup.objects.create(
        id="00gengineering000001", name="Engineering", type="OKTA_GROUP"
    )


@pytest.fixture
def slack() -> OktaApp:
    return OktaApp.objects.create(id="0oaslack0000000001", name="slack", label="Slack")


def apply_batch(*events: dict) -> int:
    """Store ``events`` as one delivery and apply them in one call (one batch)."""
    return hook_events_apply(event_ids=hook_events_store(events=list(events)))


def test_event_hook_verification_echoes_challenge(client: Client) -> None:
    response = client.get(URL, headers={"x-okta-verification-challenge": "abc123"})
    assert response.status_code == 200
    assert response.json() == {"verification": "abc123"}


def test_event_hook_verification_without_challenge_is_400(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 400


def test_event_hook_forged_authorization_is_401_and_stores_nothing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    body = delivery(event("u-1", "group.user_membership.add"))
    with django_capture_on_commit_callbacks() as callbacks:
        forged = post(client, body, auth="not-the-secret")
        missing = post(client, body, auth=None)
    assert forged.status_code == 401
    assert missing.status_code == 401
    assert HookEvent.objects.count() == 0
    assert callbacks == []


def test_event_hook_without_configured_secret_refuses_everyone(
    client: Client, settings: Any
) -> None:
    settings.OKTA_EVENT_HOOK_SECRET = ""
    response = post(client, delivery(event("u-1", "user.lifecycle.create")), auth="")
    assert response.status_code == 401
    assert HookEvent.objects.count() == 0


def test_event_hook_oversized_body_is_413_and_stores_nothing(client: Client, settings: Any) -> None:
    settings.OKTA_EVENT_HOOK_MAX_BYTES = 200
    body = delivery(*[event(f"u-{i}", "user.lifecycle.create") for i in range(10)])
    assert len(body) > 200
    response = post(client, body)
    assert response.status_code == 413
    assert "larger than 200 bytes" in response.json()["error"]
    assert HookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"data": {}}', '"data": {"events"'),
        (b'{"data": {"events": [1]}}', "events[0] must be an object"),
        (b'{"data": {"events": [{"eventType": "x"}]}}', "events[0].uuid"),
        (b'{"data": {"events": [{"uuid": "a"}]}}', "events[0].eventType"),
        (b'{"data": {"events": [{"uuid": "a", "eventType": "x", "target": 3}]}}', "target"),
    ],
)
def test_event_hook_malformed_body_is_400_with_a_clear_message(
    client: Client, body: bytes, message: str
) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert HookEvent.objects.count() == 0


def test_event_hook_delivery_stores_events_and_queues_after_commit(
    client: Client, django_capture_on_commit_callbacks: Any, tasks_sent: TasksSent
) -> None:
    body = delivery(event("u-1", "user.lifecycle.create"), event("u-2", "user.lifecycle.suspend"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client, body)
    assert response.status_code == 200
    assert response.json() == {"received": 2, "new": 2}
    assert set(HookEvent.objects.values_list("uuid", flat=True)) == {"u-1", "u-2"}
    assert len(callbacks) == 1
    assert not tasks_sent  # nothing before the commit
    callbacks[0]()
    ids = sorted(HookEvent.objects.values_list("id", flat=True))
    assert [sorted(args[0]) for args in tasks_sent.named("okta.apply_hook_events")] == [ids]
    assert tasks_sent[0].options["retry"] is False  # one attempt: the sweep covers a miss


def test_event_hook_duplicate_uuid_is_stored_and_applied_once(
    client: Client, django_capture_on_commit_callbacks: Any, maya: OktaUser, engineering: OktaGroup
) -> None:
    body = delivery(
        event(
            "dup-1", "group.user_membership.add", ("User", maya.id), ("UserGroup", engineering.id)
        )
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(client, body)
        second = post(client, body)
    assert first.json()["new"] == 1
    assert second.json()["new"] == 0
    assert len(callbacks) == 1
    ids = list(HookEvent.objects.values_list("id", flat=True))
    assert hook_events_apply(event_ids=ids) == 1
    assert hook_events_apply(event_ids=ids) == 0
    assert GroupMembership.objects.filter(group=engineering, user=maya).count() == 1
    assert HookEvent.objects.get(uuid="dup-1").applied_at is not None


def test_hook_events_apply_membership_remove_and_app_assignment(
    maya: OktaUser, engineering: OktaGroup, slack: OktaApp
) -> None:
    GroupMembership.objects.create(group=engineering, user=maya)
    ids = hook_events_store(
        events=[
            event(
                "e-1",
                "group.user_membership.remove",
                ("User", maya.id),
                ("UserGroup", engineering.id),
            ),
            event(
                "e-2",
                "application.user_membership.add",
                ("User", maya.id),
                ("AppInstance", slack.id),
            ),
        ]
    )
    assert hook_events_apply(event_ids=ids) == 2
    assert not GroupMembership.objects.filter(group=engineering, user=maya).exists()
    assert AppAssignment.objects.filter(app=slack, user=maya, scope="USER").exists()


def test_hook_events_apply_out_of_order_follows_published_time(
    maya: OktaUser, engineering: OktaGroup
) -> None:
    """Okta may deliver out of order: events are applied in ``published`` order."""
    ids = hook_events_store(
        events=[
            event(
                "late",
                "group.user_membership.remove",
                ("User", maya.id),
                ("UserGroup", engineering.id),
                published="2026-11-25T10:00:05.000Z",
            ),
            event(
                "early",
                "group.user_membership.add",
                ("User", maya.id),
                ("UserGroup", engineering.id),
                published="2026-11-25T10:00:01.000Z",
            ),
        ]
    )
    hook_events_apply(event_ids=ids)
    assert not GroupMembership.objects.filter(group=engineering, user=maya).exists()


# The last event for a (user, group) or (user, app) pair in a batch decides, whatever the pair
# held before the batch.
LAST_EVENT_DECIDES = pytest.mark.parametrize(
    ("first", "last", "held_after"),
    [("add", "remove", False), ("remove", "add", True)],
    ids=["add-then-remove", "remove-then-add"],
)
HELD_BEFORE = pytest.mark.parametrize("held_before", [False, True], ids=["absent", "present"])


@LAST_EVENT_DECIDES
@HELD_BEFORE
def test_hook_events_apply_last_membership_event_of_a_batch_decides(
    maya: OktaUser,
    engineering: OktaGroup,
    first: str,
    last: str,
    held_after: bool,
    held_before: bool,
) -> None:
    if held_before:
        GroupMembership.objects.create(group=engineering, user=maya)
    pair = (("User", maya.id), ("UserGroup", engineering.id))
    applied = apply_batch(
        event("m-1", f"group.user_membership.{first}", *pair, published="2026-11-25T10:00:01Z"),
        event("m-2", f"group.user_membership.{last}", *pair, published="2026-11-25T10:00:02Z"),
    )
    assert applied == 2
    assert GroupMembership.objects.filter(group=engineering, user=maya).exists() is held_after


@LAST_EVENT_DECIDES
@HELD_BEFORE
def test_hook_events_apply_last_assignment_event_of_a_batch_decides(
    maya: OktaUser, slack: OktaApp, first: str, last: str, held_after: bool, held_before: bool
) -> None:
    if held_before:
        AppAssignment.objects.create(app=slack, user=maya, scope="USER")
    pair = (("User", maya.id), ("AppInstance", slack.id))
    applied = apply_batch(
        event(
            "a-1", f"application.user_membership.{first}", *pair, published="2026-11-25T10:00:01Z"
        ),
        event(
            "a-2", f"application.user_membership.{last}", *pair, published="2026-11-25T10:00:02Z"
        ),
    )
    assert applied == 2
    assert AppAssignment.objects.filter(app=slack, user=maya).exists() is held_after


def test_hook_events_apply_membership_of_an_unmirrored_group_is_skipped(
    maya: OktaUser, engineering: OktaGroup
) -> None:
    """A group outside the mirror (out of the sync scope, or not synced yet) gets no member
    rows; the rest of the batch still applies."""
    unknown = "00gnotmirrored00001"
    applied = apply_batch(
        event("g-1", "group.user_membership.add", ("User", maya.id), ("UserGroup", unknown)),
        event("g-2", "group.user_membership.add", ("User", maya.id), ("UserGroup", engineering.id)),
    )
    assert applied == 2
    assert not GroupMembership.objects.filter(group_id=unknown).exists()
    assert GroupMembership.objects.filter(group=engineering, user=maya).exists()


def test_hook_events_apply_links_of_a_user_not_yet_mirrored_are_kept(
    engineering: OktaGroup, slack: OktaApp
) -> None:
    """Links are keyed by Okta id, as the full sync writes them: a user created in Okta a moment
    ago has the right groups and apps once the user's own row arrives."""
    newcomer = "00unotmirroredyet01"
    applied = apply_batch(
        event(
            "n-1", "group.user_membership.add", ("User", newcomer), ("UserGroup", engineering.id)
        ),
        event(
            "n-2", "application.user_membership.add", ("User", newcomer), ("AppInstance", slack.id)
        ),
    )
    assert applied == 2
    assert not OktaUser.objects.filter(pk=newcomer).exists()
    assert GroupMembership.objects.filter(group=engineering, user_id=newcomer).exists()
    assert AppAssignment.objects.filter(app=slack, user_id=newcomer).exists()


def test_hook_events_apply_removals_of_links_the_mirror_never_had_change_nothing(
    maya: OktaUser, engineering: OktaGroup, slack: OktaApp
) -> None:
    GroupMembership.objects.create(group=engineering, user=maya)
    AppAssignment.objects.create(app=slack, user=maya, scope="USER")
    applied = apply_batch(
        event(
            "r-1",
            "group.user_membership.remove",
            ("User", "00unobody"),
            ("UserGroup", engineering.id),
        ),
        event(
            "r-2", "group.user_membership.remove", ("User", maya.id), ("UserGroup", "00gnowhere")
        ),
        event(
            "r-3",
            "application.user_membership.remove",
            ("User", maya.id),
            ("AppInstance", "0oanothing"),
        ),
    )
    assert applied == 3
    assert list(GroupMembership.objects.values_list("group_id", "user_id")) == [
        (engineering.id, maya.id)
    ]
    assert list(AppAssignment.objects.values_list("app_id", "user_id")) == [(slack.id, maya.id)]


def test_hook_events_apply_user_deleted_removes_user_and_links(
    maya: OktaUser, engineering: OktaGroup
) -> None:
    GroupMembership.objects.create(group=engineering, user=maya)
    ids = hook_events_store(
        events=[event("d-1", "user.lifecycle.delete.completed", ("User", maya.id))]
    )
    hook_events_apply(event_ids=ids)
    assert not OktaUser.objects.filter(pk=maya.id).exists()
    assert not GroupMembership.objects.filter(user_id=maya.id).exists()


def test_hook_parse_accepts_okta_delivery_shape() -> None:
    events = hook_parse(delivery(event("a", "user.lifecycle.create", ("User", "00u1"))))
    assert events[0]["uuid"] == "a"


@pytest.mark.django_db(transaction=True)
def test_event_hook_broker_down_answers_200_and_the_sweep_applies_the_events(
    client: Client, maya: OktaUser, engineering: OktaGroup
) -> None:
    body = delivery(
        event(
            "down-1", "group.user_membership.add", ("User", maya.id), ("UserGroup", engineering.id)
        )
    )
    with celery_broker(f"redis://127.0.0.1:{free_port()}/0", {}):  # nothing listens there
        response = post(client, body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 1}
    stored = HookEvent.objects.get(uuid="down-1")
    assert stored.applied_at is None
    assert not GroupMembership.objects.filter(group=engineering, user=maya).exists()

    assert hook_events_sweep() == 0  # too fresh: the queued message may still come
    HookEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() - SWEEP_AFTER)
    assert hook_events_sweep() == 1
    assert GroupMembership.objects.filter(group=engineering, user=maya).count() == 1
    assert hook_events_sweep() == 0  # applied once


def test_hook_events_sweep_runs_every_minute_on_beat(settings: Any) -> None:
    from gatehouse.celery import app

    app.loader.import_default_modules()  # what a worker does at start: find every app's tasks
    entry = settings.CELERY_BEAT_SCHEDULE["okta-hook-events-sweep"]
    assert entry["schedule"] == 60.0
    assert entry["task"] in app.tasks
    unknown = [
        e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] not in app.tasks
    ]
    assert unknown == []  # every beat entry names a task a worker has
