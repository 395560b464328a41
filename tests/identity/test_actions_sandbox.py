"""Each identity action end to end against the Okta sandbox, and each guardrail attacked:
a refusal says why and leaves Okta (the sandbox's own state) unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.models import AccessRequest, Decision, Policy, RequestStatus
from approvals.services.common import ApprovalError
from audit.models import AuditEvent
from identity import services
from identity.guardrails import ActionRefused
from identity.models import Action, ActionPolicy, ActionRequest
from okta.models import OktaGroup, OktaUser, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.fixtures.mail import MailTasks
from tests.identity.conftest import Acme, Run, decide

pytestmark = pytest.mark.django_db


def submit(actor: Any, action: str, variant: str, target: str = "", **params: Any) -> Any:
    return services.action_submit(
        actor=actor, action=action, variant=variant, target_user_id=target, params=params
    )


def writes(acme: Acme) -> int:
    return int(acme.sandbox.counters()["writes"])


def test_password_reset_self_service_emails_without_approval(acme: Acme, run_ops: Run) -> None:
    req = submit(acme.u["maya"], Action.PASSWORD_RESET, "email", acme.id["maya"])
    assert req.approval_request is None  # no approval: straight to the outbox
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED and op.okta_request_id
    assert acme.state("maya")["status"] == "RECOVERY"
    assert "reset_password_url" not in op.result  # emailed, not shown
    assert AuditEvent.objects.filter(
        action="identity.action.requested", target_id=acme.id["maya"]
    ).exists()


def test_password_reset_helpdesk_url_is_shown_once(acme: Acme, run_ops: Run) -> None:
    req = submit(acme.u["jordan"], Action.PASSWORD_RESET, "url", acme.id["john"])
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    with pytest.raises(ActionRefused):  # someone else may not see it
        services.action_reveal_secret(actor=acme.u["sam"], request_id=req.pk, operation_id=op.pk)
    secrets = services.action_reveal_secret(
        actor=acme.u["jordan"], request_id=req.pk, operation_id=op.pk
    )
    assert secrets["reset_password_url"].startswith("http")
    assert (
        services.action_reveal_secret(actor=acme.u["jordan"], request_id=req.pk, operation_id=op.pk)
        == {}
    )
    assert not AuditEvent.objects.filter(detail__icontains=secrets["reset_password_url"]).exists()


def test_password_reset_temp_password_for_helpdesk(acme: Acme, run_ops: Run) -> None:
    req = submit(acme.u["jordan"], Action.PASSWORD_RESET, "temp", acme.id["john"])
    (op,) = run_ops(req.correlation)
    secrets = services.action_reveal_secret(
        actor=acme.u["jordan"], request_id=req.pk, operation_id=op.pk
    )
    assert secrets["temp_password"]
    assert acme.state("john")["status"] == "PASSWORD_EXPIRED"


def test_account_unlock_by_manager_for_report(acme: Acme, run_ops: Run) -> None:
    acme.sandbox.lock_user(acme.id["maya"])
    OktaUser.objects.filter(pk=acme.id["maya"]).update(status="LOCKED_OUT")
    req = submit(acme.u["priya"], Action.ACCOUNT_UNLOCK, "unlock", acme.id["maya"])
    run_ops(req.correlation)
    assert acme.state("maya")["status"] == "ACTIVE"


def test_account_unlock_refused_for_someone_elses_report(acme: Acme) -> None:
    acme.sandbox.lock_user(acme.id["john"])
    OktaUser.objects.filter(pk=acme.id["john"]).update(status="LOCKED_OUT")
    with pytest.raises(ActionRefused, match="Policy does not let you"):
        submit(acme.u["priya"], Action.ACCOUNT_UNLOCK, "unlock", acme.id["john"])
    assert acme.state("john")["status"] == "LOCKED_OUT"
    assert not ActionRequest.objects.exists()


def test_mfa_reset_and_sessions_clear_self_service(acme: Acme, run_ops: Run) -> None:
    for action, variant in ((Action.MFA_RESET, "reset"), (Action.SESSIONS_CLEAR, "clear")):
        req = submit(acme.u["maya"], action, variant, acme.id["maya"])
        (op,) = run_ops(req.correlation)
        assert op.status == OperationStatus.SUCCEEDED, op.error_summary


def test_user_suspend_needs_a_second_admin(acme: Acme, run_ops: Run) -> None:
    before = writes(acme)
    req = submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    assert req.approval_request.status == RequestStatus.PENDING
    assert req.approval_request.policy_name == "Second admin"
    assert not Operation.objects.filter(correlation=req.correlation).exists()
    with pytest.raises(ApprovalError, match="own request"):  # not by the one who asked
        decide(acme.u["sam"], req)
    with pytest.raises(ApprovalError, match="not an approver"):  # not by a non-admin
        decide(acme.u["jordan"], req)
    assert writes(acme) == before and acme.state("john")["status"] == "ACTIVE"
    decide(acme.u["dana"], req)
    with pytest.raises(ApprovalError, match="no longer pending"):
        decide(acme.u["dana"], req)
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    assert acme.state("john")["status"] == "SUSPENDED"
    req.approval_request.refresh_from_db()
    assert req.approval_request.status == RequestStatus.COMPLETED
    assert AuditEvent.objects.filter(
        action="identity.action.approved", actor="dana.brooks@acme.com"
    )
    # and back
    req2 = submit(acme.u["dana"], Action.USER_SUSPEND, "unsuspend", acme.id["john"])
    decide(acme.u["sam"], req2)
    run_ops(req2.correlation)
    assert acme.state("john")["status"] == "ACTIVE"


def test_user_suspend_denied_changes_nothing(acme: Acme) -> None:
    req = submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    decide(acme.u["dana"], req, approve=False, comment="no")
    req.refresh_from_db()
    assert req.approval_request.status == RequestStatus.DENIED
    assert services.action_outcome(req, []) == "Denied"
    assert not Operation.objects.filter(correlation=req.correlation).exists()


def test_privileged_admin_is_protected_unless_policy_allows(acme: Acme, run_ops: Run) -> None:
    before = writes(acme)
    with pytest.raises(ActionRefused, match="privileged"):
        submit(acme.u["jordan"], Action.PASSWORD_RESET, "url", acme.id["sam"])
    with pytest.raises(ActionRefused, match="privileged"):
        submit(acme.u["dana"], Action.USER_SUSPEND, "suspend", acme.id["sam"])
    assert writes(acme) == before and acme.state("sam")["status"] == "ACTIVE"
    ActionPolicy.objects.filter(action=Action.SESSIONS_CLEAR).update(allow_privileged_targets=True)
    req = submit(acme.u["jordan"], Action.SESSIONS_CLEAR, "clear", acme.id["sam"])
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED


def test_nobody_runs_admin_actions_on_themselves(acme: Acme) -> None:
    with pytest.raises(ActionRefused, match="own account"):
        submit(acme.u["dana"], Action.USER_SUSPEND, "suspend", acme.id["dana"])
    with pytest.raises(ActionRefused, match="own account"):
        submit(acme.u["jordan"], Action.PASSWORD_RESET, "url", acme.id["jordan"])
    with pytest.raises(ActionRefused):  # own Gatehouse admin role
        submit(
            acme.u["dana"],
            Action.GROUP_MEMBERSHIP,
            "remove",
            acme.id["dana"],
            group_id=acme_group_id("Gatehouse Admins"),
        )
    assert "Gatehouse Admins" in acme.state("dana")["groups"]


def test_employee_may_not_act_on_a_colleague(acme: Acme) -> None:
    with pytest.raises(ActionRefused):
        submit(acme.u["maya"], Action.PASSWORD_RESET, "email", acme.id["john"])
    with pytest.raises(ActionRefused):
        submit(acme.u["maya"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    assert not ActionRequest.objects.exists()


def test_disabled_policy_refuses(acme: Acme) -> None:
    ActionPolicy.objects.filter(action=Action.MFA_RESET).update(enabled=False)
    with pytest.raises(ActionRefused, match="turned off"):
        submit(acme.u["maya"], Action.MFA_RESET, "reset", acme.id["maya"])


def test_user_lifecycle_delete_only_after_deactivate(acme: Acme, run_ops: Run) -> None:
    with pytest.raises(ActionRefused, match="deactivate first"):
        submit(acme.u["sam"], Action.USER_LIFECYCLE, "delete", acme.id["john"])
    req = submit(acme.u["sam"], Action.USER_LIFECYCLE, "deactivate", acme.id["john"])
    decide(acme.u["dana"], req)
    run_ops(req.correlation)
    assert acme.state("john")["status"] == "DEPROVISIONED"
    req = submit(acme.u["sam"], Action.USER_LIFECYCLE, "delete", acme.id["john"])
    decide(acme.u["dana"], req)
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    assert acme.sandbox.api("GET", f"/api/v1/users/{acme.id['john']}").status == 404


def test_user_update_self_service_fields_only(acme: Acme, run_ops: Run) -> None:
    with pytest.raises(ActionRefused, match="title"):
        submit(
            acme.u["maya"], Action.USER_UPDATE, "update", acme.id["maya"], profile={"title": "CTO"}
        )
    with pytest.raises(ActionRefused, match="phone"):
        submit(
            acme.u["maya"],
            Action.USER_UPDATE,
            "update",
            acme.id["maya"],
            profile={"mobilePhone": "call me<script>"},
        )
    req = submit(
        acme.u["maya"],
        Action.USER_UPDATE,
        "update",
        acme.id["maya"],
        profile={"mobilePhone": "+1 555 0100"},
    )
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    body = acme.sandbox.api("GET", f"/api/v1/users/{acme.id['maya']}").body
    assert body["profile"]["mobilePhone"] == "+1 555 0100"
    assert body["profile"]["title"] == "Software Engineer"


def test_user_update_admin_invalid_email_refused(acme: Acme) -> None:
    with pytest.raises(ActionRefused, match="email"):
        submit(
            acme.u["sam"], Action.USER_UPDATE, "update", acme.id["john"], profile={"email": "nope"}
        )


def test_user_create_with_groups_and_apps(acme: Acme, run_ops: Run) -> None:
    req = submit(
        acme.u["sam"],
        Action.USER_CREATE,
        "create",
        profile={
            "login": "nina.new@acme.com",
            "email": "nina.new@acme.com",
            "firstName": "Nina",
            "lastName": "New",
            "department": "Finance",
            "managerId": acme.id["omar"],
        },
        activation="url",
        group_ids=[acme_group_id("New Hires - April")],
        app_ids=[acme_app_id("Slack"), acme_app_id("Notion")],
    )
    ops = run_ops(req.correlation)
    assert [o.status for o in ops] == [OperationStatus.SUCCEEDED] * 4, [
        (o.kind, o.error_summary) for o in ops
    ]
    state = acme.state("nina.new@acme.com")
    assert state["status"] == "PROVISIONED"  # activated without email: waits for the link
    assert "New Hires - April" in state["groups"]
    assert {"Slack", "Notion"} <= set(state["apps"])
    activation = next(o for o in ops if o.kind == "user.activate")
    secrets = services.action_reveal_secret(
        actor=acme.u["sam"], request_id=req.pk, operation_id=activation.pk
    )
    assert secrets["activation_url"]


def test_user_create_refuses_app_group_and_duplicate_login(acme: Acme) -> None:
    base = {"email": "x@acme.com", "firstName": "X", "lastName": "Y"}
    with pytest.raises(ActionRefused, match="already exists"):
        submit(
            acme.u["sam"],
            Action.USER_CREATE,
            "create",
            profile={**base, "login": "maya.chen@acme.com"},
        )
    builtin = OktaGroup.objects.exclude(type="OKTA_GROUP").first()
    assert builtin is not None
    with pytest.raises(ActionRefused, match="OKTA_GROUP"):
        submit(
            acme.u["sam"],
            Action.USER_CREATE,
            "create",
            profile={**base, "login": "x@acme.com"},
            group_ids=[builtin.pk],
        )
    assert acme.sandbox.api("GET", "/api/v1/users/x@acme.com").status == 404


def test_group_membership_okta_group_only(acme: Acme, run_ops: Run) -> None:
    builtin = OktaGroup.objects.exclude(type="OKTA_GROUP").first()
    assert builtin is not None
    before = writes(acme)
    with pytest.raises(ActionRefused, match=builtin.type):
        submit(acme.u["sam"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=builtin.pk)
    assert writes(acme) == before
    vpn = acme_group_id("VPN Users")
    req = submit(acme.u["sam"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=vpn)
    run_ops(req.correlation)
    assert "VPN Users" in acme.state("john")["groups"]
    with pytest.raises(ActionRefused, match="already a member"):
        submit(acme.u["sam"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=vpn)


def test_app_assignment_assign_and_unassign(acme: Acme, run_ops: Run) -> None:
    zoom = acme_app_id("Zoom")
    req = submit(acme.u["sam"], Action.APP_ASSIGNMENT, "assign", acme.id["john"], app_id=zoom)
    run_ops(req.correlation)
    assert "Zoom" in acme.state("john")["apps"]
    req = submit(acme.u["sam"], Action.APP_ASSIGNMENT, "unassign", acme.id["john"], app_id=zoom)
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED


def test_group_manage_create_rename_delete(acme: Acme, run_ops: Run, okta: Any) -> None:
    req = submit(acme.u["sam"], Action.GROUP_MANAGE, "create", name="Contractors-Q2")
    (op,) = run_ops(req.correlation)
    group_id = op.result["group_id"]
    assert OktaGroup.objects.get(pk=group_id).type == "OKTA_GROUP"
    with pytest.raises(ActionRefused, match="already exists"):
        submit(acme.u["sam"], Action.GROUP_MANAGE, "create", name="contractors-q2")
    req = submit(
        acme.u["sam"], Action.GROUP_MANAGE, "update", group_id=group_id, name="Contractors-Q3"
    )
    run_ops(req.correlation)
    assert okta.get_group(group_id).name == "Contractors-Q3"
    req = submit(acme.u["sam"], Action.GROUP_MANAGE, "delete", group_id=group_id)
    run_ops(req.correlation)
    assert acme.sandbox.api("GET", f"/api/v1/groups/{group_id}").status == 404


def test_group_manage_refuses_builtin_and_role_groups(acme: Acme) -> None:
    builtin = OktaGroup.objects.get(type="BUILT_IN", name="Everyone")
    with pytest.raises(ActionRefused, match="BUILT_IN"):
        submit(acme.u["sam"], Action.GROUP_MANAGE, "delete", group_id=builtin.pk)
    with pytest.raises(ActionRefused, match="Gatehouse roles"):
        submit(
            acme.u["sam"],
            Action.GROUP_MANAGE,
            "delete",
            group_id=acme_group_id("Gatehouse Admins"),
        )
    assert acme.sandbox.api("GET", f"/api/v1/groups/{builtin.pk}").status == 200


def test_policy_save_is_audited_and_validated(acme: Acme) -> None:
    policy = ActionPolicy.objects.get(action=Action.USER_UPDATE)
    with pytest.raises(ActionRefused):
        services.action_policy_save(actor=acme.u["maya"], policy=policy, changes={"enabled": False})
    with pytest.raises(ActionRefused, match="manager"):
        services.action_policy_save(
            actor=acme.u["sam"], policy=policy, changes={"self_service_fields": ["managerId"]}
        )
    services.action_policy_save(
        actor=acme.u["sam"], policy=policy, changes={"self_service_fields": ["title"]}
    )
    assert AuditEvent.objects.filter(action="identity.policy.updated", target_id="user_update")


def test_manager_approval_policy_routes_to_the_persons_manager(acme: Acme, run_ops: Run) -> None:
    ActionPolicy.objects.filter(action=Action.MFA_RESET).update(
        approval_policy=Policy.objects.get(name="Manager approval")
    )
    req = submit(acme.u["jordan"], Action.MFA_RESET, "reset", acme.id["maya"])
    waiting = AccessRequest.objects.decidable_by
    assert list(waiting(acme.u["priya"])) == [req.approval_request]
    assert not waiting(acme.u["omar"]).exists()
    with pytest.raises(ApprovalError, match="not an approver"):
        decide(acme.u["omar"], req)
    decide(acme.u["priya"], req)
    (op,) = run_ops(req.correlation)
    assert op.status == OperationStatus.SUCCEEDED
    # self-service stays approval-free unless the policy says otherwise
    own = submit(acme.u["maya"], Action.MFA_RESET, "reset", acme.id["maya"])
    assert own.approval_request is None
    assert Operation.objects.filter(correlation=own.correlation).exists()


def test_allowed_variants_hide_what_policy_refuses(acme: Acme) -> None:
    jordan_on_sam = services.allowed_variants(
        acme.u["jordan"], OktaUser.objects.get(pk=acme.id["sam"])
    )
    assert jordan_on_sam == []  # sam is a SUPER_ADMIN
    maya_self = {
        v
        for _, v, _ in services.allowed_variants(
            acme.u["maya"], OktaUser.objects.get(pk=acme.id["maya"])
        )
    }
    assert maya_self == {"email", "reset", "clear", "update"}


def test_approval_rechecks_the_person_who_became_privileged(acme: Acme) -> None:
    from okta.models import AdminRole

    req = submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    AdminRole.objects.create(user_id=acme.id["john"], type="ORG_ADMIN")
    with pytest.raises(ApprovalError, match="privileged"):
        decide(acme.u["dana"], req)
    req.approval_request.refresh_from_db()
    assert req.approval_request.status == RequestStatus.PENDING
    assert not Decision.objects.filter(request=req.approval_request).exists()
    assert not Operation.objects.filter(correlation=req.correlation).exists()
    decide(acme.u["dana"], req, approve=False)


def test_group_owner_may_change_only_their_group(acme: Acme, run_ops: Run) -> None:
    from approvals.models import CatalogItem, ItemKind, Policy
    from tests.approvals.conftest import ensure_default_policies as approvals_policies

    approvals_policies()
    leads = acme_group_id("Backend Leads")
    CatalogItem.objects.create(
        kind=ItemKind.GROUP,
        group_id=leads,
        name="Backend Leads",
        policy=Policy.objects.get(name="Manager approval"),
        owners=[acme.id["priya"]],
        published=True,
    )
    req = submit(acme.u["priya"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=leads)
    run_ops(req.correlation)
    assert "Backend Leads" in acme.state("john")["groups"]
    with pytest.raises(ActionRefused, match="Policy does not let you"):
        submit(
            acme.u["priya"],
            Action.GROUP_MEMBERSHIP,
            "add",
            acme.id["john"],
            group_id=acme_group_id("VPN Users"),
        )


def test_approvers_and_requester_are_emailed(
    acme: Acme,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    no_broker: Any,
    mail_tasks: MailTasks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        req = submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    mail_tasks.run()
    (mail,) = mailoutbox
    assert "Approval needed: Suspend John Doe" in mail.subject
    assert mail.to == ["dana.brooks@acme.com"]  # the admins but sam himself
    assert req.approval_request.get_absolute_url() in mail.body
    with django_capture_on_commit_callbacks(execute=True):
        decide(acme.u["dana"], req, approve=False, comment="not today")
    mail_tasks.run()
    # the requester hears, not the person the action was about
    assert mailoutbox[1].to == ["sam.rivera@acme.com"] and "denied" in mailoutbox[1].subject
    assert "not today" in mailoutbox[1].body


def test_the_same_action_is_refused_while_the_first_waits_for_approval(acme: Acme) -> None:
    first = submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    events = AuditEvent.objects.count()
    with pytest.raises(ActionRefused, match="already asked for and still waits for approval") as e:
        submit(acme.u["dana"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    assert e.value.open_pk == first.pk and f"(#{first.pk})" in e.value.message
    assert ActionRequest.objects.count() == 1 and AccessRequest.objects.count() == 1
    assert AuditEvent.objects.count() == events
    # Another action, or the same on someone else, is not a repeat.
    submit(acme.u["sam"], Action.SESSIONS_CLEAR, "clear", acme.id["john"])
    submit(acme.u["sam"], Action.USER_SUSPEND, "suspend", acme.id["maya"])
    # Once the first is denied, it may be asked again.
    decide(acme.u["dana"], first, approve=False, comment="not now")
    again = submit(acme.u["dana"], Action.USER_SUSPEND, "suspend", acme.id["john"])
    assert again.approval_request.status == RequestStatus.PENDING
    first.refresh_from_db()
    assert first.open_key is None and again.open_key


def test_the_same_action_is_refused_while_it_runs_and_allowed_after(
    acme: Acme, run_ops: Run
) -> None:
    group = acme_group_id("Contractors")
    first = submit(acme.u["sam"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=group)
    assert first.approval_request is None  # no approval: its operation waits for a worker
    with pytest.raises(ActionRefused, match="already asked for and still runs"):
        submit(acme.u["dana"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=group)
    other = acme_group_id("VPN Users")
    submit(acme.u["dana"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=other)
    assert Operation.objects.filter(params__group_id=group).count() == 1
    run_ops(first.correlation)
    assert "Contractors" in acme.state("john")["groups"]
    # Done: the same ask is no longer a repeat (here it is refused as already done instead).
    with pytest.raises(ActionRefused, match="already a member"):
        submit(acme.u["dana"], Action.GROUP_MEMBERSHIP, "add", acme.id["john"], group_id=group)
    submit(acme.u["dana"], Action.GROUP_MEMBERSHIP, "remove", acme.id["john"], group_id=group)
