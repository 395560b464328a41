"""End to end: register Gatehouse's event hook in the sandbox from the connection page (create,
verify against the live server, activate), then a change made in Okta reaches the mirror through
the hook endpoint and a real Celery worker within seconds."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from okta.actors import SystemActor
from okta.models import GroupMembership, HookEvent, OktaConnection, OktaGroup
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.fixtures.sandbox import SandboxServer

MAYA = "maya.chen@acme.com"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_event_hook_registered_in_one_click_then_okta_changes_reach_the_mirror(
    okta_sandbox: SandboxServer,
    live_server: Any,
    celery_worker: Any,
    client: Client,
    settings: Any,
) -> None:
    settings.SITE_URL = live_server.url
    settings.OKTA_EVENT_HOOK_SECRET = ""
    run = sync_run_start(actor=SystemActor("test"), kind="full")
    assert sync_run_execute(run_id=run.pk).status == "succeeded"
    sam = User.objects.create_user(
        "sam.rivera@acme.com", okta_id=okta_sandbox.user_id("sam.rivera@acme.com")
    )
    client.force_login(sam)

    response = client.post("/admin/okta/event-hook/", follow=True)

    assert response.status_code == 200
    conn = OktaConnection.objects.get()
    assert conn.event_hook_status == "ACTIVE / VERIFIED", response.content.decode()[:3000]
    assert conn.event_hook_secret_encrypted
    page = response.content.decode()
    assert "ACTIVE / VERIFIED" in page
    maya_id = okta_sandbox.user_id(MAYA)
    group = (
        OktaGroup.objects.filter(type="OKTA_GROUP")
        .exclude(memberships__user_id=maya_id)
        .order_by("name")
        .first()
    )
    assert group is not None

    added = okta_sandbox.api("PUT", f"/api/v1/groups/{group.id}/users/{maya_id}")

    assert added.status == 204
    celery_worker.wait_for(
        lambda: GroupMembership.objects.filter(group=group, user_id=maya_id).exists(),
        timeout=30,
        what="the hook delivery to reach the mirror",
    )
    event = HookEvent.objects.get(event_type="group.user_membership.add")
    assert event.applied_at is not None
    deliveries = okta_sandbox.deliveries()
    assert deliveries and all(d["ok"] for d in deliveries)
