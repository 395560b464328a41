"""Identity actions are decided by the approvals engine.

``ActionPolicy.approval`` (none / manager / second admin) becomes an approvals ``Policy``
("Manager approval", or "Second admin": one stage of Gatehouse admins, never the person who
asked nor the person it is about). Every ``ActionRequest`` that had an approval gets its
``AccessRequest`` (kind ``identity.action``) with its approvers, decision and timeline; the
operations of approved ones move to the request's correlation so approvals follows them.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

KIND = "identity.action"
CHAINS = {
    "manager": ("Manager approval", "The person's manager approves.", [("MANAGER", "ANY")]),
    "second_admin": (
        "Second admin",
        "A Gatehouse admin other than the person who asked (and the person it is about).",
        [("ADMINS", "ANY")],
    ),
}


def _chain(apps: Any, approval: str) -> Any:
    if approval not in CHAINS:
        return None
    Policy = apps.get_model("approvals", "Policy")
    PolicyStage = apps.get_model("approvals", "PolicyStage")
    name, description, stages = CHAINS[approval]
    policy, created = Policy.objects.get_or_create(name=name, defaults={"description": description})
    if created:
        for position, (approvers, rule) in enumerate(stages, start=1):
            PolicyStage.objects.create(
                policy=policy, position=position, approvers=approvers, rule=rule
            )
    return policy


def create_defaults(apps: Any, schema_editor: Any) -> None:
    """The shipped action policies in this shape (tests call it again after a flush)."""
    shipped = importlib.import_module("identity.migrations.0002_default_policies").DEFAULTS
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    for row in shipped:
        fields = dict(row)
        action = fields.pop("action")
        fields["approval_policy"] = _chain(apps, fields.pop("approval", "none"))
        ActionPolicy.objects.get_or_create(action=action, defaults=fields)


def _status_from_operations(ops: list[Any]) -> str:
    if any(o.status == "FAILED" for o in ops):
        return "FAILED"
    if ops and all(o.status == "SUCCEEDED" for o in ops):
        return "COMPLETED"
    return "FULFILLING"


def link_approvals(apps: Any, schema_editor: Any) -> None:
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    ActionRequest = apps.get_model("identity", "ActionRequest")
    AccessRequest = apps.get_model("approvals", "AccessRequest")
    RequestApprover = apps.get_model("approvals", "RequestApprover")
    Decision = apps.get_model("approvals", "Decision")
    RequestEvent = apps.get_model("approvals", "RequestEvent")
    GroupMembership = apps.get_model("okta", "GroupMembership")
    Operation = apps.get_model("okta", "Operation")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))

    for policy in ActionPolicy.objects.all():
        policy.approval_policy = _chain(apps, policy.approval)
        policy.save(update_fields=["approval_policy"])

    days = settings.APPROVALS_PENDING_EXPIRY_DAYS
    for req in ActionRequest.objects.exclude(approval="none").order_by("id"):
        requester = User.objects.filter(username=req.requested_by).first()
        chain = _chain(apps, req.approval)
        if requester is None or chain is None:
            continue  # nobody to hold the request: it stays as it was recorded
        tier = "MANAGER" if req.approval == "manager" else "ADMINS"
        ops = list(Operation.objects.filter(correlation=f"action:{req.pk}").order_by("id"))
        status = {"PENDING": "PENDING", "DENIED": "DENIED"}.get(req.status) or (
            _status_from_operations(ops)
        )
        approval = AccessRequest.objects.create(
            kind=KIND,
            title=str(req.params.get("summary") or req.action)[:255],
            requester=requester,
            subject_id=req.target_user_id or None,
            subject_label=req.target_label if req.target_user_id else "",
            status=status,
            policy_name=chain.name,
            stages=[{"approvers": tier, "rule": "ANY"}],
            created_at=req.created_at,
            pending_until=req.created_at + timedelta(days=days),
            decided_at=req.decided_at,
            finished_at=req.decided_at if status in ("DENIED", "COMPLETED", "FAILED") else None,
        )
        RequestEvent.objects.create(
            request=approval,
            at=req.created_at,
            kind="submitted",
            actor_label=req.requested_by,
            text=f"Asked for “{approval.title}”.",
        )
        if status == "PENDING":
            if tier == "MANAGER":
                ids = [req.approver_okta_id] if req.approver_okta_id else []
            else:
                ids = list(
                    GroupMembership.objects.filter(group__name=settings.GATEHOUSE_ADMIN_GROUP)
                    .exclude(user_id__in=[req.requested_by_okta_id, req.target_user_id])
                    .values_list("user_id", flat=True)
                )
            RequestApprover.objects.bulk_create(
                RequestApprover(request=approval, stage=1, okta_id=i, tier=tier)
                for i in sorted(set(ids))
            )
            RequestEvent.objects.create(
                request=approval,
                at=req.created_at,
                kind="routed",
                text=f"Stage 1 of 1: waiting for {chain.name.lower()}.",
                is_problem=not ids,
            )
        else:
            decider = User.objects.filter(username=req.decided_by).first()
            outcome = "DENY" if req.status == "DENIED" else "APPROVE"
            at = req.decided_at or req.created_at
            if decider is not None:
                Decision.objects.create(
                    request=approval,
                    stage=1,
                    decider=decider,
                    outcome=outcome,
                    comment=req.comment,
                    created_at=at,
                )
                if decider.okta_id:
                    RequestApprover.objects.create(
                        request=approval, stage=1, okta_id=decider.okta_id, tier=tier,
                        decided_at=at,
                    )
            said = f": “{req.comment}”" if req.comment else "."
            verb = "Denied" if outcome == "DENY" else "Approved"
            RequestEvent.objects.create(
                request=approval,
                at=at,
                kind="decided",
                actor_label=req.decided_by,
                text=f"{verb} stage 1{said}",
            )
            Operation.objects.filter(pk__in=[o.pk for o in ops]).update(
                correlation=f"request:{approval.pk}",
                callback_task="approvals.operation_finished",
            )
        req.approval_request = approval
        req.save(update_fields=["approval_request"])


def unlink_approvals(apps: Any, schema_editor: Any) -> None:
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    ActionRequest = apps.get_model("identity", "ActionRequest")
    Operation = apps.get_model("okta", "Operation")
    for policy in ActionPolicy.objects.select_related("approval_policy"):
        chain = policy.approval_policy
        policy.approval = (
            "none"
            if chain is None
            else "manager"
            if chain.name == CHAINS["manager"][0]
            else "second_admin"
        )
        policy.save(update_fields=["approval"])
    for req in ActionRequest.objects.select_related("approval_request"):
        approval = req.approval_request
        if approval is None:
            req.status = "QUEUED"
        else:
            req.approval = "manager" if approval.stages[0]["approvers"] == "MANAGER" else (
                "second_admin"
            )
            req.status = {"PENDING": "PENDING"}.get(approval.status) or (
                "DENIED" if approval.status in ("DENIED", "CANCELLED", "EXPIRED") else "QUEUED"
            )
            req.decided_at = approval.decided_at
            Operation.objects.filter(correlation=f"request:{approval.pk}").update(
                correlation=f"action:{req.pk}"
            )
        req.save(update_fields=["status", "approval", "decided_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0004_action_requests"),
        ("identity", "0002_default_policies"),
        ("okta", "0006_user_plain_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="actionpolicy",
            name="approval_policy",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: no approval.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="action_policies",
                to="approvals.policy",
            ),
        ),
        migrations.AddField(
            model_name="actionrequest",
            name="approval_request",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="identity_action",
                to="approvals.accessrequest",
            ),
        ),
        migrations.RunPython(link_approvals, unlink_approvals),
        migrations.RemoveField(model_name="actionpolicy", name="approval"),
        migrations.RemoveField(model_name="actionrequest", name="approval"),
        migrations.RemoveField(model_name="actionrequest", name="approver_okta_id"),
        migrations.RemoveField(model_name="actionrequest", name="status"),
        migrations.RemoveField(model_name="actionrequest", name="decided_by"),
        migrations.RemoveField(model_name="actionrequest", name="decided_at"),
        migrations.RemoveField(model_name="actionrequest", name="comment"),
    ]
