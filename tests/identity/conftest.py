"""Identity tests run against the Okta sandbox: the mirror comes from a full sync of the acme
seed, operations are executed by okta's own executor over real HTTP (we play the worker's part),
and the sandbox's state is what we check.

Named people (acme seed): maya (employee, reports to priya), priya (manager), john (Finance,
reports to omar), jordan (helpdesk, HELP_DESK_ADMIN), sam (admin, SUPER_ADMIN), tessa (auditor);
dana is made a second Gatehouse admin for two-person rules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client

from accounts.models import User
from approvals.models import AccessRequest
from identity import bulk, services
from identity.models import ActionRequest, BulkRun
from okta import operations
from okta.actors import SystemActor
from okta.client import OktaClient
from okta.models import Operation, OperationStatus
from okta.sandbox.seed import acme_group_id, acme_user_id
from okta.sync.runs import sync_run_execute, sync_run_start

Run = Callable[[str], list[Operation]]
HTMX = {"HX-Request": "true"}
# Eight ACTIVE people in Finance have not signed in for 60 days in the seed.
FINANCE_STALE = {"department": "Finance", "status": "ACTIVE", "inactive_days": 60}

LOGINS = {
    "maya": "maya.chen@acme.com",
    "priya": "priya.patel@acme.com",
    "john": "john.doe@acme.com",
    "omar": "omar.haddad@acme.com",
    "jordan": "jordan.lee@acme.com",
    "sam": "sam.rivera@acme.com",
    "tessa": "tessa.nguyen@acme.com",
    "dana": "dana.brooks@acme.com",
}


def ensure_default_policies() -> None:
    migration = importlib.import_module("identity.migrations.0003_approvals_engine")
    migration.create_defaults(django_apps, None)


def approval_of(req: ActionRequest) -> AccessRequest:
    """The action's approval request as it stands now."""
    assert req.approval_request_id, "this action did not need approval"
    return AccessRequest.objects.get(pk=req.approval_request_id)


def decide(actor: User, req: ActionRequest, approve: bool = True, comment: str = "") -> Any:
    """Decide an action's approval request through approvals' own decide service."""
    from approvals.services.decisions import access_request_decide

    assert req.approval_request_id, "this action did not need approval"
    return access_request_decide(
        actor=actor,
        request_id=req.approval_request_id,
        outcome="APPROVE" if approve else "DENY",
        comment=comment,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bulk_start(
    actor: User, action: str, selection: dict[str, Any], params: dict[str, Any] | None = None
) -> tuple[bulk.Preview, BulkRun]:
    """Preview a bulk action and confirm it as previewed, as an admin on the bulk page does."""
    params = params or {}
    preview = bulk.bulk_preview(actor=actor, action=action, params=params, selection=selection)
    run = bulk.bulk_confirm(
        actor=actor,
        action=action,
        params=params,
        selection=selection,
        preview_hash=preview.hash,
    )
    return preview, run


def new_person(login: str, **fields: Any) -> dict[str, Any]:
    """``action_submit`` params creating ``login`` (first.last@acme.com), activated by email."""
    first, _, last = login.split("@")[0].partition(".")
    profile = {"login": login, "email": login, "firstName": first.title(), "lastName": last.title()}
    return {"profile": profile, "activation": "email", **fields}


def account(login: str) -> User:
    user, _ = User.objects.get_or_create(
        username=login, defaults={"email": login, "okta_id": acme_user_id(login)}
    )
    return user


class Acme:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        dana = acme_user_id(LOGINS["dana"])
        admins = acme_group_id("Gatehouse Admins")
        assert sandbox.api("PUT", f"/api/v1/groups/{admins}/users/{dana}").status == 204
        ensure_default_policies()
        sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
        self.u = {name: account(login) for name, login in LOGINS.items()}
        self.id = {name: acme_user_id(login) for name, login in LOGINS.items()}

    def state(self, name_or_id: str) -> dict[str, Any]:
        return self.sandbox.user_state(self.id.get(name_or_id, name_or_id))


@pytest.fixture(autouse=True)
def _process_local_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def acme(okta_sandbox: Any, db: None) -> Acme:
    return Acme(okta_sandbox)


@pytest.fixture
def run_ops(
    okta: OktaClient, no_broker: list[tuple[str, int]], django_capture_on_commit_callbacks: Any
) -> Callable[[str], list[Operation]]:
    """Execute every pending operation of a correlation (and the identity and approvals
    callbacks they send), as the worker would; returns the operations as recorded."""
    from approvals.services import common as approvals_common
    from approvals.services import outcomes as approvals_outcomes

    def run(correlation: str) -> list[Operation]:
        for _ in range(3):  # callbacks may queue follow-up operations
            pending = Operation.objects.filter(
                correlation=correlation, status=OperationStatus.PENDING
            ).order_by("id")
            ids = list(pending.values_list("pk", flat=True))
            if not ids:
                break
            for pk in ids:
                with django_capture_on_commit_callbacks(execute=True):
                    operations.operation_execute(pk, client=okta)
            while no_broker:
                task, pk = no_broker.pop(0)
                if task == services.CALLBACK_TASK:
                    with django_capture_on_commit_callbacks(execute=True):
                        services.operation_finished(operation_id=pk)
                elif task == approvals_common.CALLBACK_TASK:
                    with django_capture_on_commit_callbacks(execute=True):
                        approvals_outcomes.operation_finished(operation_id=pk)
        return list(Operation.objects.filter(correlation=correlation).order_by("id"))

    return run
