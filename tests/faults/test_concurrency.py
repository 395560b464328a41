"""Many people pressing the same button at the same moment, through the real views, a real
worker and the sandbox: many approvers deciding the same stage of the same request give one
decision, one operation and one Okta change; many admins pressing "Sync now" give one sync.

The database is a file shared with the worker (the ``worker`` marker); on PostgreSQL the views'
row locks decide, on SQLite the IMMEDIATE transactions serialise the writers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from approvals.models import AccessRequest, CatalogItem, Decision, ItemKind, Policy, RequestStatus
from approvals.services.requests import access_request_submit
from okta.actors import SystemActor
from okta.models import GroupMembership, OktaGroup, OktaUser, Operation, SyncRun, SyncStatus
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from okta.tasks import operation_run
from tests.approvals.conftest import ensure_default_policies
from tests.fixtures.concurrency import at_once
from tests.fixtures.sandbox import SandboxServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

THREADS = 8
APPROVERS = [
    "priya.patel@acme.com",
    "omar.haddad@acme.com",
    "jordan.lee@acme.com",
    "sam.rivera@acme.com",
    "tessa.nguyen@acme.com",
    "dana.brooks@acme.com",
    "john.doe@acme.com",
    "olivia.martin@acme.com",
]


def account(login: str) -> User:
    user, _ = User.objects.get_or_create(
        username=login, defaults={"email": login, "okta_id": acme_user_id(login)}
    )
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_many_approvers_same_stage_at_once_one_decision_one_okta_change(
    celery_worker: Any, okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    approvers_group = OktaGroup.objects.create(id="00graceapprovers000", name="Race approvers")
    logins = [login for login in APPROVERS if OktaUser.objects.filter(login=login).exists()]
    assert len(logins) >= 6
    for login in logins:
        GroupMembership.objects.create(group=approvers_group, user_id=acme_user_id(login))
    group = OktaGroup.objects.get(pk=acme_group_id("Engineering - Backend"))
    item = CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=group,
        name=group.name,
        policy=Policy.objects.get(name="Approver group"),
        approver_group=approvers_group,
        default_duration_days=7,
        max_duration_days=30,
        published=True,
    )
    maya = account("maya.chen@acme.com")
    req = access_request_submit(requester=maya, item=item, reason="race drill", duration_days=7)
    clients = [signed_in(account(login)) for login in logins]
    url = reverse("approvals:request_decide", args=[req.pk])
    results = at_once(
        [
            lambda c=c: c.post(url, {"outcome": "APPROVE", "comment": "yes"})  # type: ignore[misc]
            for c in clients
        ]
    )
    statuses = [r.status_code if hasattr(r, "status_code") else repr(r) for r in results]
    assert all(isinstance(s, int) and s < 500 for s in statuses), statuses
    assert Decision.objects.filter(request=req).count() == 1
    ops = Operation.objects.filter(correlation=req.correlation)
    assert ops.count() == 1
    op = ops.get()
    # Duplicate messages for the same operation (a reaper, a redelivery): still one change.
    for _ in range(THREADS):
        operation_run.delay(op.pk)
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED,
        timeout=60,
        what="the request to complete",
    )
    op.refresh_from_db()
    assert op.status == "SUCCEEDED" and op.attempts == 1
    logs = okta_sandbox.api(
        "GET",
        "/api/v1/logs?limit=1000&filter=" + "eventType%20eq%20%22group.user_membership.add%22",
    ).body
    maya_id = acme_user_id("maya.chen@acme.com")
    adds = [
        e
        for e in logs
        if {t["id"] for t in e["target"]} >= {maya_id, group.id}
        and e["published"] >= req.created_at.strftime("%Y-%m-%dT%H:%M:%S")
    ]
    assert len(adds) == 1, adds
    assert "Engineering - Backend" in okta_sandbox.user_state(maya_id)["groups"]


def test_many_admins_press_sync_now_at_once_one_sync(
    celery_worker: Any, okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    admin = account("sam.rivera@acme.com")
    assert OktaUser.objects.filter(pk=admin.okta_id).exists()
    before = set(SyncRun.objects.values_list("pk", flat=True))
    clients = [signed_in(admin) for _ in range(THREADS)]
    url = reverse("okta:sync_start")
    results = at_once(
        [lambda c=c: c.post(url, {"kind": "full"}) for c in clients]  # type: ignore[misc]
    )
    statuses = [r.status_code if hasattr(r, "status_code") else repr(r) for r in results]
    assert all(isinstance(s, int) and s < 500 for s in statuses), statuses
    new = SyncRun.objects.exclude(pk__in=before)
    assert new.count() == 1, list(new.values("pk", "status"))
    run = new.get()
    celery_worker.wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).status != SyncStatus.RUNNING,
        timeout=120,
        what="the sync to finish",
    )
    assert SyncRun.objects.get(pk=run.pk).status == SyncStatus.SUCCEEDED
    assert SyncRun.objects.exclude(pk__in=before).count() == 1
