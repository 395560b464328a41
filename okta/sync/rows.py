"""Okta's JSON as mirror rows, driven by one field table per mirrored object.

``USER_FIELDS`` is the one place that says where an ``OktaUser`` column comes from in Okta's
user JSON, and so for groups and apps. Every conversion into the mirror derives from it: full
sync (model instances, or raw rows for COPY on PostgreSQL), incremental sync and event hooks
re-reading a user, sign-in mirroring a new joiner, and the create-user operation. To mirror
another profile attribute, add its column to the model (and a migration) and one line here.

How a value is converted follows from the column it lands in: text is cut to the column's
``max_length``, timestamps are parsed (or, for COPY, passed on as Okta's ISO text, which
PostgreSQL parses), JSON is kept whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import models

from okta.models import OktaApp, OktaGroup, OktaUser

Json = dict[str, Any]
Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class OktaField:
    """One mirror column and where Okta has its value: a top-level attribute (``status``) or
    one of the profile's (``profile.firstName``)."""

    column: str
    path: str
    # Text columns without a max_length (TextField) say how much they keep.
    limit: int | None = None
    # An empty value is replaced by the object's id (a login is required and unique).
    else_id: bool = False

    @property
    def in_profile(self) -> bool:
        return self.path.startswith("profile.")

    @property
    def key(self) -> str:
        return self.path.removeprefix("profile.")


USER_FIELDS: tuple[OktaField, ...] = (
    OktaField("status", "status"),
    OktaField("login", "profile.login", else_id=True),
    OktaField("email", "profile.email"),
    OktaField("first_name", "profile.firstName"),
    OktaField("last_name", "profile.lastName"),
    OktaField("display_name", "profile.displayName"),
    OktaField("department", "profile.department"),
    OktaField("title", "profile.title"),
    OktaField("manager_id", "profile.managerId"),
    OktaField("employee_number", "profile.employeeNumber"),
    OktaField("profile", "profile"),
    OktaField("created", "created"),
    OktaField("activated", "activated"),
    OktaField("status_changed", "statusChanged"),
    OktaField("last_login", "lastLogin"),
    OktaField("last_updated", "lastUpdated"),
    OktaField("password_changed", "passwordChanged"),
)

GROUP_FIELDS: tuple[OktaField, ...] = (
    OktaField("type", "type"),
    OktaField("name", "profile.name"),
    OktaField("description", "profile.description", limit=10_000),
    OktaField("created", "created"),
    OktaField("last_updated", "lastUpdated"),
    OktaField("last_membership_updated", "lastMembershipUpdated"),
)

APP_FIELDS: tuple[OktaField, ...] = (
    OktaField("name", "name"),
    OktaField("label", "label"),
    OktaField("status", "status"),
    OktaField("sign_on_mode", "signOnMode"),
    OktaField("created", "created"),
    OktaField("last_updated", "lastUpdated"),
)


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _s(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _text(limit: int) -> Callable[[Any], str]:
    return lambda value: "" if value is None else str(value)[:limit]


def _as_is(value: Any) -> Any:
    return value


def _json(value: Any) -> Json:
    return value or {}


def _json_text(value: Any) -> str:
    return orjson.dumps(value or {}).decode()


def _time_text(value: Any) -> Any:
    return value or None


@dataclass(frozen=True, slots=True)
class _Step:
    """One field of a table, compiled: where to read and how to convert for each target."""

    column: str
    in_profile: bool
    key: str
    else_id: bool
    to_value: Convert  # Okta JSON -> model attribute
    to_copy: Convert  # Okta JSON -> COPY value
    from_typed: Convert  # okta.client's typed attribute -> model attribute


def _compile(model: type[models.Model], spec: OktaField) -> _Step:
    column = model._meta.get_field(spec.column)
    to_value: Convert
    to_copy: Convert
    from_typed: Convert
    if isinstance(column, models.DateTimeField):
        to_value, to_copy, from_typed = _dt, _time_text, _as_is
    elif isinstance(column, models.JSONField):
        to_value, to_copy, from_typed = _json, _json_text, _json
    elif isinstance(column, models.CharField | models.TextField):
        limit = spec.limit or column.max_length
        if limit is None:
            raise ValueError(f"{model.__name__}.{spec.column}: a text column needs a limit")
        to_value = to_copy = from_typed = _text(limit)
    else:
        raise TypeError(f"{model.__name__}.{spec.column}: no conversion for {type(column)}")
    return _Step(
        spec.column, spec.in_profile, spec.key, spec.else_id, to_value, to_copy, from_typed
    )


@dataclass(frozen=True)
class MirrorTable:
    """A model and its field table: every conversion from Okta into that model."""

    model: type[models.Model]
    fields: tuple[OktaField, ...]
    _steps: tuple[_Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_steps", tuple(_compile(self.model, f) for f in self.fields))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns written, the id first (``synced_at`` is not among them)."""
        return ("id", *(f.column for f in self.fields))

    def values(self, data: Json) -> Json:
        """Column -> value from Okta's JSON."""
        profile = data.get("profile") or {}
        oid = data["id"]
        found: Json = {"id": oid}
        for step in self._steps:
            value = step.to_value((profile if step.in_profile else data).get(step.key))
            found[step.column] = value if value or not step.else_id else oid
        return found

    def row(self, data: Json) -> tuple[Any, ...]:
        """The values of ``columns`` from Okta's JSON, for COPY: no model instance, timestamps
        as Okta's text."""
        profile = data.get("profile") or {}
        oid = data["id"]
        row = [oid]
        for step in self._steps:
            value = step.to_copy((profile if step.in_profile else data).get(step.key))
            row.append(value if value or not step.else_id else oid)
        return tuple(row)

    def typed_values(self, typed: Any) -> Json:
        """Column -> value from okta.client's typed object (``User``, ``Group``). Profile
        attributes are read from its ``profile`` (the whole of Okta's profile) when it has one,
        so a profile field added to the table needs nothing in the client; anything else from
        the attribute named like the column."""
        profile = getattr(typed, "profile", None)
        oid = typed.id
        found: Json = {"id": oid}
        for step in self._steps:
            if step.in_profile and isinstance(profile, dict):
                raw = profile.get(step.key)
            else:
                raw = getattr(typed, step.column)
            value = step.from_typed(raw)
            found[step.column] = value if value or not step.else_id else oid
        return found


USER_ROWS = MirrorTable(OktaUser, USER_FIELDS)
GROUP_ROWS = MirrorTable(OktaGroup, GROUP_FIELDS)
APP_ROWS = MirrorTable(OktaApp, APP_FIELDS)


def user_from_okta(data: Json) -> OktaUser:
    return OktaUser(**USER_ROWS.values(data))


def user_row(data: Json) -> tuple[Any, ...]:
    """A row of bulk.USERS (its columns are ``USER_ROWS.columns``) for COPY."""
    return USER_ROWS.row(data)


def user_from_typed(user: Any) -> OktaUser:
    """The mirror row of an ``okta.client.User`` (what find_user and create_user answer)."""
    return OktaUser(**USER_ROWS.typed_values(user))


def group_from_okta(data: Json) -> OktaGroup:
    return OktaGroup(**GROUP_ROWS.values(data))


def group_from_typed(group: Any) -> OktaGroup:
    """The mirror row of an ``okta.client.Group`` (what get_group answers)."""
    return OktaGroup(**GROUP_ROWS.typed_values(group))


def app_from_okta(data: Json) -> OktaApp:
    return OktaApp(**APP_ROWS.values(data))


def okta_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def membership_row(group_id: str, data: Json) -> tuple[str, str]:
    return (group_id, data["id"])


def assignment_row(app_id: str, data: Json) -> tuple[str, str, str, str]:
    return (app_id, data["id"], _s(data.get("scope") or "USER", 10), _s(data.get("status"), 30))
