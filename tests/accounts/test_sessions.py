"""Sessions end when the directory takes a person's access away (accounts.services).

The mirror comes from the Okta sandbox over real HTTP; people sign in through the real sign-in
service, and their browser session is a Django test client.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.auth import signin_complete
from accounts.models import User
from accounts.services import accounts_sessions_end
from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.client import OktaClient
from okta.hooks import hook_events_store
from okta.models import OktaUser, SyncRun, SyncStatus
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.fixtures.sandbox import SandboxServer

pytestmark = pytest.mark.django_db

MAYA = "maya.chen@acme.com"
PRIYA = "priya.patel@acme.com"


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    """Sync fetches on threads; the database cache cannot be written from them while the
    test's in-memory SQLite transaction is open."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def run_sync(kind: str) -> SyncRun:
    run = sync_run_start(actor=SystemActor("test"), kind=kind)
    run = sync_run_execute(run_id=run.pk)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    return run


def signed_in(sandbox: SandboxServer, login: str) -> Client:
    """A browser session of ``login``, signed in through the sign-in service."""
    user = signin_complete(claims={"sub": sandbox.user_id(login), "email": login}, request=None)
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    return client


def is_signed_out(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


def ended_events(okta_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="account.sessions_ended", target_id=okta_id))


def test_suspended_person_is_signed_out_by_incremental_sync(okta_sandbox: SandboxServer) -> None:
    run_sync("full")
    maya, priya = signed_in(okta_sandbox, MAYA), signed_in(okta_sandbox, PRIYA)
    maya_id = okta_sandbox.user_id(MAYA)
    assert okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/suspend").status == 200

    run = run_sync("incremental")

    assert run.counts["sessions_ended"] == 1
    assert is_signed_out(maya)
    assert priya.get("/").status_code == 200  # nobody else is touched
    assert not User.objects.get(okta_id=maya_id).is_active
    [event] = ended_events(maya_id)
    assert event.actor == "okta" and event.target_label == MAYA
    assert event.detail == {"status": "SUSPENDED", "source": "incremental sync"}


def test_deactivated_person_is_signed_out_by_event_hook(okta_sandbox: SandboxServer) -> None:
    from okta.hooks import hook_events_apply

    run_sync("full")
    maya = signed_in(okta_sandbox, MAYA)
    maya_id = okta_sandbox.user_id(MAYA)
    assert okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/deactivate").status == 200
    ids = hook_events_store(
        events=[
            {
                "uuid": "deactivate-maya",
                "eventType": "user.lifecycle.deactivate",
                "published": "2026-11-25T10:00:00.000Z",
                "target": [{"type": "User", "id": maya_id}],
            }
        ]
    )
    with OktaClient(okta_sandbox.url, token=okta_sandbox.token) as okta:
        hook_events_apply(event_ids=ids, client=okta)

    assert OktaUser.objects.get(pk=maya_id).status == "DEPROVISIONED"
    assert is_signed_out(maya)
    assert [e.detail["source"] for e in ended_events(maya_id)] == ["event hook"]


def test_locked_out_person_keeps_session(okta_sandbox: SandboxServer) -> None:
    """A lockout is about the password, and anyone who knows a login can cause one."""
    run_sync("full")
    maya = signed_in(okta_sandbox, MAYA)
    okta_sandbox.lock_user(MAYA)

    run = run_sync("incremental")

    assert OktaUser.objects.get(login=MAYA).status == "LOCKED_OUT"
    assert run.counts["sessions_ended"] == 0
    assert maya.get("/").status_code == 200
    assert ended_events(okta_sandbox.user_id(MAYA)) == []


def test_old_session_stays_ended_after_unsuspend_and_new_sign_in(
    okta_sandbox: SandboxServer,
) -> None:
    run_sync("full")
    old = signed_in(okta_sandbox, MAYA)
    maya_id = okta_sandbox.user_id(MAYA)
    okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/suspend")
    run_sync("incremental")
    okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/unsuspend")
    run_sync("incremental")

    new = signed_in(okta_sandbox, MAYA)

    assert User.objects.get(okta_id=maya_id).is_active
    assert is_signed_out(old)  # the session from before the suspension does not come back
    assert new.get("/").status_code == 200
    assert len(ended_events(maya_id)) == 1


def test_person_removed_from_directory_is_signed_out(okta_sandbox: SandboxServer) -> None:
    run_sync("full")
    maya = signed_in(okta_sandbox, MAYA)
    maya_id = okta_sandbox.user_id(MAYA)
    OktaUser.objects.filter(pk=maya_id).delete()

    assert accounts_sessions_end(source="test", gone=[maya_id]) == 1

    assert is_signed_out(maya)
    assert ended_events(maya_id)[0].detail["status"] == "not in the directory"
    assert accounts_sessions_end(source="test", gone=[maya_id]) == 0  # once


def test_deactivated_person_is_signed_out_by_full_sync(okta_sandbox: SandboxServer) -> None:
    """A plain Okta user listing leaves deactivated people out: full sync removes them."""
    run_sync("full")
    maya, priya = signed_in(okta_sandbox, MAYA), signed_in(okta_sandbox, PRIYA)
    maya_id = okta_sandbox.user_id(MAYA)
    assert okta_sandbox.api("POST", f"/api/v1/users/{maya_id}/lifecycle/deactivate").status == 200

    run = run_sync("full")

    assert not OktaUser.objects.filter(pk=maya_id).exists()
    assert run.counts["sessions_ended"] == 1
    assert is_signed_out(maya)
    assert priya.get("/").status_code == 200
    [event] = ended_events(maya_id)
    assert event.detail == {"status": "not in the directory", "source": "full sync"}
