"""okta's write services check the actor themselves: only who holds okta.manage_connection
(admins) records a sync, changes the scope, saves the connection or registers the event hook;
only okta.retry_operation sends a failed operation again. Anyone else is refused and nothing
changes; Gatehouse acting on its own names itself with a SystemActor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.connection import connection_save, event_hook_register
from okta.models import (
    AuthMethod,
    OktaConnection,
    Operation,
    OperationKind,
    OperationStatus,
    SyncRun,
    SyncScope,
)
from okta.operations import operation_retry
from okta.sync.runs import sync_run_start
from okta.sync.scope import sync_scope_update
from tests.world import Cast

pytestmark = pytest.mark.django_db

# The helpdesk, an employee, the stranger; then what is not a person at all.
REFUSED = ["jordan", "maya", "stan", "a plain string", None]


def actor_of(cast: Cast, who: str | None) -> Any:
    if who is None or " " in who:
        return who  # not someone: a label, or nobody
    return cast.u[who]


def state() -> dict[str, Any]:
    """Everything the five services could change."""
    return {
        "runs": list(SyncRun.objects.values()),
        "scope": list(SyncScope.objects.values()),
        "connection": list(OktaConnection.objects.values()),
        "operations": list(Operation.objects.values("pk", "status", "attempts")),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def stored(cast: Cast) -> None:
    """A stored connection and a failed operation, for the services that change them."""
    OktaConnection.objects.create(
        pk=1, org_url="https://acme.okta.test", auth_method=AuthMethod.API_TOKEN
    )
    Operation.objects.create(
        kind=OperationKind.GROUP_MEMBER_ADD,
        params={"group_id": "00gEngineering0001", "user_id": cast.id["maya"]},
        status=OperationStatus.FAILED,
        attempts=8,
        error_summary="Okta was down",
    )


SERVICES: dict[str, Callable[[Any], Any]] = {
    "sync_run_start": lambda actor: sync_run_start(actor=actor, kind="full"),
    "sync_scope_update": lambda actor: sync_scope_update(
        actor=actor, group_types=["OKTA_GROUP"], group_name_patterns=["eng*"], user_statuses=[]
    ),
    "connection_save": lambda actor: connection_save(
        actor=actor,
        org_url="https://other.okta.test",
        auth_method=AuthMethod.API_TOKEN,
        api_token="00-secret",
    ),
    "event_hook_register": lambda actor: event_hook_register(
        actor=actor, site_url="https://gatehouse.acme.test"
    ),
    "operation_retry": lambda actor: operation_retry(
        operation_id=Operation.objects.get().pk, actor=actor
    ),
}


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("who", REFUSED)
def test_okta_write_service_refuses_who_lacks_the_permission_and_changes_nothing(
    cast: Cast, service: str, who: str | None
) -> None:
    before = state()
    with pytest.raises(PermissionDenied):
        SERVICES[service](actor_of(cast, who))
    assert state() == before


@pytest.mark.usefixtures("stored")
def test_okta_write_services_let_an_admin_and_a_named_system_actor_through(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    run = sync_run_start(actor=cast.u["sam"], kind="full")
    assert run.triggered_by == "sam.rivera@acme.com"
    SyncRun.objects.filter(pk=run.pk).update(status="failed")
    assert sync_run_start(actor=SystemActor("schedule"), kind="full").triggered_by == "schedule"
    scope = sync_scope_update(
        actor=cast.u["dana"], group_types=[], group_name_patterns=["eng*"], user_statuses=[]
    )
    assert scope.updated_by == "dana.brooks@acme.com"
    with django_capture_on_commit_callbacks(execute=False):
        assert operation_retry(operation_id=Operation.objects.get().pk, actor=cast.u["sam"])
    assert Operation.objects.get().status == OperationStatus.PENDING
    assert AuditEvent.objects.filter(action="okta.operation.retried", actor="sam.rivera@acme.com")
