"""Sync runs without Okta: one at a time, stale runs reaped, the "Sync now" button and its live
progress fragment, and the scope rules."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from accounts.models import User
from okta.actors import SystemActor
from okta.models import GroupType, OktaGroup, OktaUser, SyncRun, SyncScope, SyncStatus
from okta.sync.runs import SyncAlreadyRunningError, sync_run_start
from okta.sync.scope import Scope, sync_scope_update
from tests.accounts.conftest import group_join, person_make
from tests.fixtures.concurrency import at_once
from tests.fixtures.dispatch import TasksSent

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam() -> User:
    person = person_make("sam.rivera@acme.com")
    group_join(person, "Gatehouse Admins")
    return User.objects.create_user(person.login, okta_id=person.id)


@pytest.fixture
def admin_client(client: Client, sam: User, settings: Any) -> Client:
    client.force_login(sam)
    return client


def test_sync_run_start_second_while_running_is_refused(sam: User) -> None:
    first = sync_run_start(actor=sam, kind="full")
    with pytest.raises(SyncAlreadyRunningError) as refused:
        sync_run_start(actor=SystemActor("schedule"), kind="incremental")
    assert refused.value.run == first
    assert SyncRun.objects.filter(status=SyncStatus.RUNNING).count() == 1
    assert first.triggered_by == "sam.rivera@acme.com"


@pytest.mark.django_db(transaction=True)
def test_sync_run_start_concurrent_threads_only_one_wins() -> None:
    def start() -> str:
        # The in-memory SQLite test database (shared cache) answers "table is locked" at once
        # instead of waiting like a file database or PostgreSQL: try again then.
        for _ in range(200):
            try:
                sync_run_start(actor=SystemActor("thread"), kind="full")
                return "started"
            except SyncAlreadyRunningError:
                return "refused"
            except OperationalError:
                time.sleep(0.01)
        return "still locked"

    outcomes = at_once([start] * 4)
    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    assert SyncRun.objects.filter(status=SyncStatus.RUNNING).count() == 1


def test_sync_run_start_reaps_run_without_heartbeat() -> None:
    stale = sync_run_start(actor=SystemActor("cli"), kind="full")
    SyncRun.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    fresh = sync_run_start(actor=SystemActor("cli"), kind="full")
    stale.refresh_from_db()
    assert stale.status == SyncStatus.FAILED
    assert "Abandoned" in stale.message
    assert fresh.status == SyncStatus.RUNNING


def test_sync_start_button_records_run_and_queues_task(
    admin_client: Client, django_capture_on_commit_callbacks: Any, tasks_sent: TasksSent
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/okta/sync/start/", {"kind": "full"}, headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    run = SyncRun.objects.get()
    assert run.status == SyncStatus.RUNNING
    assert run.triggered_by == "sam.rivera@acme.com"
    assert len(callbacks) == 1
    callbacks[0]()
    assert tasks_sent.named("okta.run_sync") == [[run.pk]]
    content = response.content.decode()
    assert "<html" not in content
    assert f'id="sync-run-{run.pk}"' in content
    assert 'hx-trigger="every 1s"' in content
    assert "<progress" in content


def test_sync_start_button_while_running_says_so(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    sync_run_start(actor=SystemActor("schedule"), kind="incremental")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/okta/sync/start/", {"kind": "full"}, headers={"HX-Request": "true"}
        )
    assert response.status_code == 409
    assert b"A sync is already running." in response.content
    assert SyncRun.objects.count() == 1
    assert callbacks == []


def test_sync_run_fragment_stops_polling_when_finished(admin_client: Client) -> None:
    run = sync_run_start(actor=SystemActor("cli"), kind="full")
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncStatus.SUCCEEDED, finished_at=timezone.now(), counts={"users": 7}
    )
    response = admin_client.get(f"/admin/okta/sync/runs/{run.pk}/", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "hx-trigger" not in content
    assert "users: 7" in content
    assert 'value="100"' in content


def test_sync_page_stranger_is_forbidden(client: Client, settings: Any) -> None:
    person = person_make("sam.stranger@acme.com")
    client.force_login(User.objects.create_user(person.login, okta_id=person.id))
    assert client.get("/admin/okta/sync/").status_code == 403
    assert client.post("/admin/okta/sync/start/").status_code == 403
    assert not SyncRun.objects.exists()


def test_scope_update_is_saved_and_applied_by_rules(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/okta/scope/",
        {
            "group_types": ["OKTA_GROUP"],
            "group_name_patterns": "Eng*\nGatehouse *",
            "user_statuses": ["ACTIVE", "SUSPENDED"],
        },
    )
    assert response.status_code == 302
    stored = SyncScope.objects.get()
    assert stored.group_name_patterns == ["Eng*", "Gatehouse *"]
    scope = Scope.load()
    assert scope.wants_group(OktaGroup(name="engineering", type=GroupType.OKTA_GROUP))
    assert not scope.wants_group(OktaGroup(name="Sales", type=GroupType.OKTA_GROUP))
    assert not scope.wants_group(OktaGroup(name="Engineering", type=GroupType.APP_GROUP))
    assert scope.wants_user(OktaUser(status="SUSPENDED"))
    assert not scope.wants_user(OktaUser(status="STAGED"))


def test_sync_scope_update_empty_means_everything(sam: User) -> None:
    sync_scope_update(actor=sam, group_types=[], group_name_patterns=[], user_statuses=[])
    scope = Scope.load()
    assert scope.wants_group(OktaGroup(name="Anything", type=GroupType.BUILT_IN))
    assert scope.wants_user(OktaUser(status="STAGED"))


def test_sync_page_admin_sees_runs_and_sync_button(admin_client: Client) -> None:
    run = sync_run_start(actor=SystemActor("cli"), kind="full")
    response = admin_client.get("/admin/okta/sync/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="sync-now"' in content
    assert f'id="sync-run-{run.pk}"' in content  # the running one, polling
    assert 'hx-trigger="every 1s"' in content


def test_admin_posts_stranger_is_forbidden_and_nothing_changes(
    client: Client, settings: Any
) -> None:
    person = person_make("sam.stranger@acme.com")
    client.force_login(User.objects.create_user(person.login, okta_id=person.id))
    assert client.post("/admin/okta/scope/", {"user_statuses": ["ACTIVE"]}).status_code == 403
    assert client.post("/admin/okta/event-hook/").status_code == 403
    assert client.post("/admin/okta/", {"org_url": "https://x.okta.com"}).status_code == 403
    assert not SyncScope.objects.exists()
