"""Safe default action policies: self-service password and MFA resets need no approval,
suspending, deactivating and deleting need a second admin, privileged admins are protected."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULTS: list[dict[str, Any]] = [
    {"action": "password_reset", "requesters": ["self", "manager", "helpdesk", "admin"]},
    {"action": "account_unlock", "requesters": ["manager", "helpdesk", "admin"]},
    {"action": "mfa_reset", "requesters": ["self", "helpdesk", "admin"]},
    {"action": "sessions_clear", "requesters": ["self", "helpdesk", "admin"]},
    {"action": "user_suspend", "requesters": ["admin"], "approval": "second_admin"},
    {"action": "user_lifecycle", "requesters": ["admin"], "approval": "second_admin"},
    {"action": "user_create", "requesters": ["admin"]},
    {
        "action": "user_update",
        "requesters": ["self", "admin"],
        "self_service_fields": ["nickName", "mobilePhone", "primaryPhone", "city"],
    },
    {"action": "group_membership", "requesters": ["owners", "admin"]},
    {"action": "app_assignment", "requesters": ["owners", "admin"]},
    {"action": "group_manage", "requesters": ["admin"]},
]


def create_defaults(apps: Any, schema_editor: Any) -> None:
    ActionPolicy = apps.get_model("identity", "ActionPolicy")
    for row in DEFAULTS:
        fields = dict(row)
        action = fields.pop("action")
        ActionPolicy.objects.get_or_create(action=action, defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
