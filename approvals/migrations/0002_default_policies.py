"""Sensible default policies so a fresh install can publish items at once."""

from django.db import migrations

DEFAULTS = [
    (
        "Manager approval",
        "The person's manager approves.",
        "",
        [("MANAGER", "ANY")],
    ),
    (
        "Manager then owners",
        "The manager approves, then one of the item's owners.",
        "",
        [("MANAGER", "ANY"), ("OWNERS", "ANY")],
    ),
    (
        "Approver group",
        "Any member of the item's approver group approves.",
        "",
        [("APPROVER_GROUP", "ANY")],
    ),
    (
        "Auto-approve low risk",
        "Low-risk items are granted at once; anything riskier needs the manager.",
        "LOW",
        [("MANAGER", "ANY")],
    ),
    (
        "Manager, owners, then admins",
        "For high-risk access: manager, then an owner, then a Gatehouse admin.",
        "",
        [("MANAGER", "ANY"), ("OWNERS", "ANY"), ("ADMINS", "ANY")],
    ),
]


def create_defaults(apps, schema_editor):
    Policy = apps.get_model("approvals", "Policy")
    PolicyStage = apps.get_model("approvals", "PolicyStage")
    for name, description, auto_risk, stages in DEFAULTS:
        policy, created = Policy.objects.get_or_create(
            name=name, defaults={"description": description, "auto_approve_max_risk": auto_risk}
        )
        if created:
            for position, (approvers, rule) in enumerate(stages, start=1):
                PolicyStage.objects.create(
                    policy=policy, position=position, approvers=approvers, rule=rule
                )


def remove_defaults(apps, schema_editor):
    Policy = apps.get_model("approvals", "Policy")
    Policy.objects.filter(name__in=[d[0] for d in DEFAULTS], items__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
