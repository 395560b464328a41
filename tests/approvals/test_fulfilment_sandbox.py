"""Requests fulfilled against the Okta sandbox over real HTTP.

The mirror comes from a full sync of the acme seed; the okta outbox's own executor calls the
sandbox; our callback (what ``approvals.operation_finished`` runs) moves the request on. The last
test runs the whole journey through a real Celery worker process.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from approvals.models import (
    AccessRequest,
    CatalogItem,
    Grant,
    GrantStatus,
    ItemKind,
    Policy,
    RequestStatus,
)
from approvals.services.decisions import access_request_decide
from approvals.services.grants import grants_revoke_due
from approvals.services.outcomes import access_requests_reconcile, operation_finished
from approvals.services.requests import access_request_submit
from audit.models import AuditEvent
from okta import operations
from okta.actors import SystemActor
from okta.client import OktaClient
from okta.models import GroupMembership, OktaGroup, Operation, OperationStatus
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies

MAYA = acme_user_id("maya.chen@acme.com")
# maya starts in Engineering - Frontend (acme seed): she asks for Backend.
BACKEND = "Engineering - Backend"
FRONTEND = "Engineering - Frontend"


def account(login: str) -> User:
    return User.objects.create(username=login, email=login, okta_id=acme_user_id(login))


def mirror_and_catalog(group_name: str = BACKEND) -> CatalogItem:
    ensure_default_policies()
    run = sync_run_start(actor=SystemActor("test"), kind="full")
    sync_run_execute(run_id=run.pk)
    group = OktaGroup.objects.get(pk=acme_group_id(group_name))
    return CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=group,
        name=group.name,
        policy=Policy.objects.get(name="Manager approval"),
        default_duration_days=7,
        max_duration_days=30,
        published=True,
    )


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    """Sync fetches on threads and the rate-limit governor keeps state in the cache; the
    database cache cannot be written from other threads while the test's in-memory SQLite
    transaction is open, so these tests use a process-local cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def approved(item: CatalogItem, reason: str = "x") -> tuple[AccessRequest, User]:
    """Maya asks for ``item`` and her manager priya approves: its operation is queued."""
    maya, priya = account("maya.chen@acme.com"), account("priya.patel@acme.com")
    req = access_request_submit(requester=maya, item=item, reason=reason, duration_days=7)
    access_request_decide(actor=priya, request_id=req.pk, outcome="APPROVE")
    return req, maya


def expired(req: AccessRequest) -> Grant:
    """The request's grant runs out and its removal starts."""
    grant = Grant.objects.get(request=req)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert grants_revoke_due() == 1
    return grant


def run_operation(correlation: str, okta: OktaClient, capture: Any) -> Operation:
    """What the okta worker does with the correlation's operation, then what our callback
    task does."""
    op = Operation.objects.get(correlation=correlation)
    with capture(execute=True):
        operations.operation_execute(op.pk, client=okta)
    op.refresh_from_db()
    operation_finished(operation_id=op.pk)
    return op


def groups_in_okta(okta: OktaClient, user_id: str) -> set[str]:
    return {g.name for g in okta.list_user_groups(user_id)}


@pytest.mark.django_db
def test_approved_request_is_fulfilled_then_revoked_in_okta(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = mirror_and_catalog()
    assert BACKEND not in groups_in_okta(okta, MAYA)
    req, _ = approved(item, reason="pairing with frontend")
    op = run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.SUCCEEDED and op.okta_request_id
    assert no_broker == [("approvals.operation_finished", op.pk)]
    req.refresh_from_db()
    assert req.status == RequestStatus.COMPLETED
    assert BACKEND in groups_in_okta(okta, MAYA)
    assert GroupMembership.objects.filter(group_id=item.group_id, user_id=MAYA).exists()
    assert op.okta_request_id in req.events.get(kind="okta_done").text

    grant = expired(req)
    run_operation(grant.correlation, okta, django_capture_on_commit_callbacks)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert BACKEND not in groups_in_okta(okta, MAYA)
    assert not GroupMembership.objects.filter(group_id=item.group_id, user_id=MAYA).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "access_request.submitted",
        "access_request.decided",
        "access_request.approved",
        "okta.operation.succeeded",
        "access_request.completed",
        "grant.revoke_started",
        "grant.revoked",
    } <= actions


@pytest.mark.django_db
def test_reconcile_finishes_grant_removal_whose_callback_was_lost(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    req, _ = approved(mirror_and_catalog())
    run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    grant = expired(req)
    # The worker removes maya in Okta, then dies before the callback message is sent.
    op = Operation.objects.get(correlation=grant.correlation)
    with django_capture_on_commit_callbacks(execute=True):
        operations.operation_execute(op.pk, client=okta)
    assert BACKEND not in groups_in_okta(okta, MAYA)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKING
    assert access_requests_reconcile() == 0  # within the grace: it may still come

    Operation.objects.filter(pk=op.pk).update(finished_at=timezone.now() - timedelta(minutes=10))
    assert access_requests_reconcile() == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and grant.revoked_at is not None
    assert AuditEvent.objects.filter(
        action="grant.revoked", target_id=str(grant.pk), outcome="success"
    ).exists()
    assert req.events.filter(kind="revoked").count() == 1
    assert access_requests_reconcile() == 0  # once


@pytest.mark.django_db
def test_okta_refusal_fails_request_with_okta_message(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = mirror_and_catalog()
    req, _ = approved(item)
    # Someone deletes the group in Okta before the worker gets to it.
    assert okta_sandbox.api("DELETE", f"/api/v1/groups/{item.group_id}").status == 204
    op = run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.FAILED and op.error_code == "E0000007"
    req.refresh_from_db()
    assert req.status == RequestStatus.FAILED
    assert "E0000007" in req.failure_message and op.error_summary in req.failure_message
    assert AuditEvent.objects.filter(
        action="access_request.failed", target_id=str(req.pk), outcome="failure"
    ).exists()


@pytest.mark.django_db
def test_okta_error_text_is_shown_escaped(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Okta's errorSummary and errorCauses are text from outside: the requester's page and the
    admin's operation queue show them, escaped."""
    script = '<script>alert("okta")</script><img src=x onerror=alert(1)>'
    req, maya = approved(mirror_and_catalog())
    okta_sandbox.set_faults(
        refuse_code="E0000001", refuse_detail=script, refuse_causes=[script], method="PUT"
    )
    op = run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.FAILED and op.error_code == "E0000001"
    req.refresh_from_db()
    assert req.status == RequestStatus.FAILED and script in req.failure_message
    requester, admin = Client(), Client()
    requester.force_login(maya)
    admin.force_login(account("sam.rivera@acme.com"))  # in "Gatehouse Admins" in acme
    pages = {
        "request": requester.get(reverse("approvals:request_detail", args=[req.pk])),
        "queue": admin.get(reverse("approvals:operations")),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert "&lt;script&gt;alert(" in html, name


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_journey_through_a_real_worker(celery_worker: Any, okta_sandbox: Any) -> None:
    item = mirror_and_catalog()
    with transaction.atomic():
        req, _ = approved(item, reason="frontend rotation")
    celery_worker.wait_for(
        lambda: AccessRequest.objects.get(pk=req.pk).status == RequestStatus.COMPLETED,
        timeout=60,
        what=f"request {req.pk} to complete",
    )
    with OktaClient(okta_sandbox.url, token=okta_sandbox.token) as okta:
        assert BACKEND in groups_in_okta(okta, MAYA)
        grant = expired(req)
        celery_worker.wait_for(
            lambda: Grant.objects.get(pk=grant.pk).status == GrantStatus.REVOKED,
            timeout=60,
            what=f"grant {grant.pk} to be revoked",
        )
        assert BACKEND not in groups_in_okta(okta, MAYA)


@pytest.mark.django_db
def test_demo_catalog_publishes_starters_once(okta_sandbox: Any) -> None:
    from approvals.demo import demo_catalog_publish

    mirror_and_catalog(FRONTEND)  # publishes Engineering - Frontend itself
    created = demo_catalog_publish()
    assert created >= 5
    assert demo_catalog_publish() == 0
    backend = CatalogItem.objects.get(name="Engineering - Backend")
    assert backend.published and backend.owners == [acme_user_id("priya.patel@acme.com")]
    assert CatalogItem.objects.filter(name="Engineering - Frontend").count() == 1


@pytest.mark.django_db
def test_transient_okta_failure_keeps_request_open_until_retry_succeeds(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    req, _ = approved(mirror_and_catalog())
    okta_sandbox.set_faults(error_rate=1.0, error_status=503, path_prefix="/api/v1/groups")
    op = run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.PENDING and op.okta_status == 503
    assert no_broker == []  # not final: nobody is called back
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and not req.failure_message
    okta_sandbox.clear_faults()
    Operation.objects.filter(pk=op.pk).update(next_attempt_at=timezone.now())
    op = run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert op.status == OperationStatus.SUCCEEDED and op.attempts == 2
    req.refresh_from_db()
    assert req.status == RequestStatus.COMPLETED
    assert BACKEND in groups_in_okta(okta, MAYA)


# --- approvals_run_due: the time-based duties at a pretended time ------------------------------


def completed_grant(item: CatalogItem, login: str, days: int) -> Grant:
    """A grant for ``login`` from a completed request, ending in ``days`` (no Okta call)."""
    requester = account(login)
    req = AccessRequest.objects.create(
        item=item,
        requester=requester,
        subject_id=acme_user_id(login),
        subject_label=login,
        status=RequestStatus.COMPLETED,
        policy_name="Manager approval",
        pending_until=timezone.now(),
    )
    return Grant.objects.create(
        request=req,
        item=item,
        subject_id=acme_user_id(login),
        expires_at=timezone.now() + timedelta(days=days),
    )


@pytest.mark.django_db
def test_run_due_at_a_later_time_removes_due_grants_in_okta_and_leaves_the_rest(
    okta_sandbox: Any,
    okta: OktaClient,
    no_broker: list[tuple[str, int]],
    mail_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = mirror_and_catalog()
    req, _ = approved(item)  # 7 days
    run_operation(req.correlation, okta, django_capture_on_commit_callbacks)
    assert BACKEND in groups_in_okta(okta, MAYA)
    grant = Grant.objects.get(request=req)
    reminded = completed_grant(item, "john.doe@acme.com", days=10)
    later = completed_grant(item, "omar.haddad@acme.com", days=60)
    undecided = access_request_submit(
        requester=account("jordan.lee@acme.com"), item=item, reason="x", duration_days=7
    )

    out = StringIO()
    call_command("approvals_run_due", "--at", "+3d", stdout=out)
    assert "0 undecided request(s) expired" in out.getvalue()
    assert "0 grant removal(s)" in out.getvalue()
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.ACTIVE

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("approvals_run_due", "--at", "+8d", stdout=out)
    assert (
        "0 undecided request(s) expired, 1 expiry reminder(s) sent, 1 grant removal(s) sent to Okta"
    ) in out.getvalue()
    assert ["grant", reminded.pk, "reminder"] in mail_tasks.notes
    op = run_operation(grant.correlation, okta, django_capture_on_commit_callbacks)
    assert (op.kind, op.status) == ("group.member.remove", OperationStatus.SUCCEEDED)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and grant.revoke_reason == "expired"
    assert BACKEND not in groups_in_okta(okta, MAYA)
    for left in (reminded, later):
        left.refresh_from_db()
        assert left.status == GrantStatus.ACTIVE
        assert not Operation.objects.filter(correlation=left.correlation).exists()
    assert AccessRequest.objects.get(pk=undecided.pk).status == RequestStatus.PENDING

    out = StringIO()
    call_command("approvals_run_due", "--at", "+15d", stdout=out)
    assert "1 undecided request(s) expired" in out.getvalue()
    undecided.refresh_from_db()
    assert undecided.status == RequestStatus.EXPIRED
    assert undecided.finished_at is not None and undecided.finished_at <= timezone.now()


def _due_item() -> CatalogItem:
    """A catalog item for the approvals_run_due tests (no sandbox needed)."""
    ensure_default_policies()
    group = OktaGroup.objects.create(id="00gdue", name="Due", type="OKTA_GROUP")
    return CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group=group,
        name="Due",
        policy=Policy.objects.get(name="Manager approval"),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("at", ["tomorrow", "+31", "31d", "+d", "+1y", "2026-13-01", " "])
def test_run_due_with_a_bad_time_says_so_and_changes_nothing(at: str) -> None:
    item = _due_item()
    grant = completed_grant(item, "maya.chen@acme.com", days=-1)  # already due
    with pytest.raises(CommandError, match="neither an offset such as \\+31d"):
        call_command("approvals_run_due", "--at", at, stdout=StringIO())
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_run_due_reads_an_iso_time_as_utc_unless_it_names_a_zone(no_broker: Any) -> None:
    item = _due_item()
    grant = completed_grant(item, "maya.chen@acme.com", days=2)
    assert grant.expires_at is not None
    after = (grant.expires_at + timedelta(hours=10)).replace(tzinfo=None)
    out = StringIO()
    call_command("approvals_run_due", "--at", f"{after:%Y-%m-%dT%H:%M}+14:00", stdout=out)
    assert "0 grant removal(s)" in out.getvalue()  # 4 hours before it ends, in UTC
    call_command("approvals_run_due", "--at", f"{after:%Y-%m-%dT%H:%M}", stdout=out)
    assert f"As of {after:%Y-%m-%d %H:%M} UTC" in out.getvalue()
    assert "1 grant removal(s) sent to Okta" in out.getvalue()
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.REVOKING
