"""Migration 0003 moves identity's own approvals into the approvals engine: the old
``approval`` values become approvals policies, and actions that had an approval (waiting,
denied, approved and sent to Okta) each get their ``AccessRequest``."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

OLD_IDENTITY = ("identity", "0002_default_policies")
AFTER = [("identity", "0003_approvals_engine")]


def before() -> list[tuple[str, str]]:
    """Every other app at its latest migration (the tables as they are today), identity at 0002."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    return [OLD_IDENTITY, *(node for node in leaves if node[0] != "identity")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps() -> Any:
    apps = migrate(before())
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_old_approvals_move_into_the_approvals_engine(old_apps: Any) -> None:
    apps = old_apps
    User = apps.get_model("portal", "User")
    OktaUser = apps.get_model("okta", "OktaUser")
    OktaGroup = apps.get_model("okta", "OktaGroup")
    GroupMembership = apps.get_model("okta", "GroupMembership")
    Operation = apps.get_model("okta", "Operation")
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    ActionRequest = apps.get_model("identity", "ActionRequest")

    people = {}
    for name in ("sam", "dana", "jordan", "priya", "john"):
        okta_id = f"00u{name}"
        OktaUser.objects.create(id=okta_id, login=f"{name}@acme.com", status="ACTIVE")
        people[name] = User.objects.create(username=f"{name}@acme.com", okta_id=okta_id)
    admins = OktaGroup.objects.create(id="00gadmins", name=settings.GATEHOUSE_ADMIN_GROUP)
    for name in ("sam", "dana"):
        GroupMembership.objects.create(group=admins, user_id=f"00u{name}")
    for action, approval in (
        ("user_suspend", "second_admin"),
        ("mfa_reset", "manager"),
        ("password_reset", "none"),
    ):
        ActionPolicy.objects.update_or_create(action=action, defaults={"approval": approval})

    def asked(by: str, approval: str, status: str, **fields: Any) -> Any:
        """A suspension of John that ``by`` asked for, as identity 0002 stored it."""
        return ActionRequest.objects.create(
            action="user_suspend",
            variant="suspend",
            params={"summary": "Suspend", "operations": [["user.suspend", {"user_id": "00ujohn"}]]},
            target_user_id="00ujohn",
            target_label="John Doe",
            requested_by=f"{by}@acme.com",
            requested_by_okta_id=f"00u{by}",
            approval=approval,
            status=status,
            **fields,
        )

    waiting = asked("sam", "second_admin", "PENDING")
    denied = asked(
        "jordan",
        "manager",
        "DENIED",
        approver_okta_id="00upriya",
        decided_by="priya@acme.com",
        comment="not now",
    )
    approved = asked("sam", "second_admin", "QUEUED", decided_by="dana@acme.com")
    sent = Operation.objects.create(
        kind="user.suspend",
        params={"user_id": "00ujohn"},
        status="SUCCEEDED",
        correlation=f"action:{approved.pk}",
    )
    at_once = asked("sam", "none", "QUEUED")

    apps = migrate(AFTER)
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    ActionRequest = apps.get_model("identity", "ActionRequest")
    Operation = apps.get_model("okta", "Operation")
    chains = dict(ActionPolicy.objects.values_list("action", "approval_policy__name"))
    assert chains["user_suspend"] == "Second admin"
    assert chains["mfa_reset"] == "Manager approval"
    assert chains["password_reset"] is None

    request = ActionRequest.objects.get(pk=waiting.pk).approval_request
    assert (request.kind, request.status, request.subject_id) == (
        "identity.action",
        "PENDING",
        "00ujohn",
    )
    assert list(request.approvers.values_list("okta_id", "tier")) == [("00udana", "ADMINS")]

    request = ActionRequest.objects.get(pk=denied.pk).approval_request
    assert request.status == "DENIED"
    decision = request.decisions.get()
    assert (decision.decider.username, decision.outcome, decision.comment) == (
        "priya@acme.com",
        "DENY",
        "not now",
    )
    assert "not now" in request.events.get(kind="decided").text

    request = ActionRequest.objects.get(pk=approved.pk).approval_request
    assert request.status == "COMPLETED"
    assert Operation.objects.get(pk=sent.pk).correlation == f"request:{request.pk}"

    assert ActionRequest.objects.get(pk=at_once.pk).approval_request is None
