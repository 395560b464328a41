"""The field table (okta/sync/rows.py) drives every Okta -> mirror conversion: full sync's model
instances and COPY rows, the re-read of a user by incremental sync and event hooks, sign-in's
new joiner and the create-user operation all make the same row from the same Okta user."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from accounts.auth import person_find
from okta.actors import SystemActor
from okta.client import OktaClient, User
from okta.hooks import hook_events_apply, hook_events_store
from okta.models import OktaGroup, OktaUser
from okta.sync import bulk, rows
from okta.sync.rows import OktaField, user_from_okta, user_from_typed, user_row
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.fixtures.sandbox import SandboxServer

OKTA_USER: dict[str, Any] = {
    "id": "00uexample000000001",
    "status": "ACTIVE",
    "created": "2025-01-02T03:04:05.000Z",
    "activated": "2025-01-02T03:04:06.000Z",
    "statusChanged": None,
    "lastLogin": "2026-11-30T08:00:00.123Z",
    "lastUpdated": "2026-12-01T09:10:11.000Z",
    "passwordChanged": "",
    "profile": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@acme.test",
        "displayName": "Ada L.",
        "department": "D" * 140,  # longer than the column: cut to it
        "title": None,
        "managerId": "00umanager000000001",
        "employeeNumber": 1815,  # not text in Okta's JSON: stored as text
        "costCenter": "CC-42",
    },
}


def _model_values(user: OktaUser) -> dict[str, Any]:
    return {column: getattr(user, column) for column in rows.USER_ROWS.columns}


def _copy_values(row: tuple[Any, ...]) -> dict[str, Any]:
    """A COPY row as PostgreSQL would read it: ISO text into timestamps, JSON text into jsonb."""
    values = dict(zip(rows.USER_ROWS.columns, row, strict=True))
    for column in rows.USER_ROWS.columns:
        field = OktaUser._meta.get_field(column)
        if field.get_internal_type() == "DateTimeField" and values[column] is not None:
            values[column] = datetime.fromisoformat(values[column])
        elif field.get_internal_type() == "JSONField":
            values[column] = json.loads(values[column])
    return values


@pytest.mark.parametrize("login", ["ada.lovelace@acme.test", None])
def test_every_conversion_makes_the_same_user_row_from_the_same_okta_json(
    login: str | None,
) -> None:
    data = {**OKTA_USER, "profile": {**OKTA_USER["profile"], "login": login}}
    from_json = _model_values(user_from_okta(data))
    from_typed = _model_values(user_from_typed(User.from_json(data)))  # find_user, create_user
    from_copy = _copy_values(user_row(data))
    assert from_json == from_typed == from_copy
    assert from_json["login"] == (login or data["id"])  # a login is required: the id stands in
    assert from_json["department"] == "D" * 100
    assert from_json["title"] == ""
    assert from_json["employee_number"] == "1815"
    assert from_json["status_changed"] is None and from_json["password_changed"] is None
    assert from_json["profile"]["costCenter"] == "CC-42"


def test_bulk_users_table_writes_the_field_tables_columns() -> None:
    assert bulk.USERS.columns == (*rows.USER_ROWS.columns, "synced_at")
    mirrored = {
        f.name for f in OktaUser._meta.concrete_fields if not f.generated and f.name != "synced_at"
    }
    assert set(rows.USER_ROWS.columns) == mirrored


def test_field_table_refuses_a_text_column_it_cannot_bound() -> None:
    with pytest.raises(ValueError, match="needs a limit"):
        rows.MirrorTable(OktaGroup, (OktaField("description", "profile.description"),))


# --- a field added to the table reaches the mirror by every path -----------------------------


@pytest.fixture
def cost_center_as_department(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table as it would read with one more profile attribute mapped: the mirror's
    department column taken from Okta's ``costCenter`` instead."""
    fields = tuple(
        OktaField("department", "profile.costCenter") if f.column == "department" else f
        for f in rows.USER_FIELDS
    )
    monkeypatch.setattr(rows, "USER_ROWS", rows.MirrorTable(OktaUser, fields))


@pytest.fixture
def _shared_cache_in_memory(settings: Any) -> None:
    """Sync fetches on several threads; see tests/okta/test_sync_sandbox.py."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("cost_center_as_department", "_shared_cache_in_memory")
def test_a_profile_field_in_the_table_reaches_the_mirror_by_sync_hook_and_sign_in(
    okta_sandbox: SandboxServer, okta: OktaClient
) -> None:
    maya = okta_sandbox.user_id("maya.chen@acme.com")
    okta.update_user(maya, {"costCenter": "CC-100"})

    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    assert OktaUser.objects.get(pk=maya).department == "CC-100"

    okta.update_user(maya, {"costCenter": "CC-150"})
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="incremental").pk)
    assert OktaUser.objects.get(pk=maya).department == "CC-150"

    okta.update_user(maya, {"costCenter": "CC-200"})
    event = {
        "uuid": "cost-center-change",
        "eventType": "user.account.update_profile",
        "published": "2026-12-01T10:00:00.000Z",
        "target": [{"type": "User", "id": maya}],
    }
    assert hook_events_apply(event_ids=hook_events_store(events=[event]), client=okta) == 1
    assert OktaUser.objects.get(pk=maya).department == "CC-200"

    OktaUser.objects.filter(pk=maya).delete()  # a new joiner, as far as the mirror knows
    okta.update_user(maya, {"costCenter": "CC-300"})
    assert person_find(claims={"sub": maya}).department == "CC-300"
