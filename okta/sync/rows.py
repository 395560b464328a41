"""Okta's JSON as mirror rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from okta.models import OktaApp, OktaGroup, OktaUser

if TYPE_CHECKING:
    from okta.client import User


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _s(value: Any, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def user_from_okta(data: dict[str, Any]) -> OktaUser:
    profile = data.get("profile") or {}
    first = _s(profile.get("firstName"), 100)
    last = _s(profile.get("lastName"), 100)
    return OktaUser(
        id=data["id"],
        status=_s(data.get("status"), 20),
        login=_s(profile.get("login"), 255) or data["id"],
        email=_s(profile.get("email"), 255),
        first_name=first,
        last_name=last,
        display_name=_s(profile.get("displayName"), 255),
        department=_s(profile.get("department"), 100),
        title=_s(profile.get("title"), 150),
        manager_id=_s(profile.get("managerId"), 32),
        employee_number=_s(profile.get("employeeNumber"), 50),
        profile=profile,
        created=_dt(data.get("created")),
        activated=_dt(data.get("activated")),
        status_changed=_dt(data.get("statusChanged")),
        last_login=_dt(data.get("lastLogin")),
        last_updated=_dt(data.get("lastUpdated")),
        password_changed=_dt(data.get("passwordChanged")),
    )


def user_from_typed(user: User) -> OktaUser:
    return OktaUser(
        id=user.id,
        status=user.status[:20],
        login=user.login[:255] or user.id,
        email=user.email[:255],
        first_name=user.first_name[:100],
        last_name=user.last_name[:100],
        display_name=user.display_name[:255],
        department=user.department[:100],
        title=user.title[:150],
        manager_id=user.manager_id[:32],
        employee_number=user.employee_number[:50],
        profile=user.profile,
        created=user.created,
        activated=user.activated,
        status_changed=user.status_changed,
        last_login=user.last_login,
        last_updated=user.last_updated,
        password_changed=user.password_changed,
    )


def group_from_okta(data: dict[str, Any]) -> OktaGroup:
    profile = data.get("profile") or {}
    return OktaGroup(
        id=data["id"],
        type=_s(data.get("type"), 20),
        name=_s(profile.get("name"), 255),
        description=_s(profile.get("description"), 10_000),
        created=_dt(data.get("created")),
        last_updated=_dt(data.get("lastUpdated")),
        last_membership_updated=_dt(data.get("lastMembershipUpdated")),
    )


def app_from_okta(data: dict[str, Any]) -> OktaApp:
    return OktaApp(
        id=data["id"],
        name=_s(data.get("name"), 255),
        label=_s(data.get("label"), 255),
        status=_s(data.get("status"), 20),
        sign_on_mode=_s(data.get("signOnMode"), 50),
        created=_dt(data.get("created")),
        last_updated=_dt(data.get("lastUpdated")),
    )


def user_row(data: dict[str, Any]) -> tuple[Any, ...]:
    """A USERS row from Okta's JSON, for COPY: no model instance, timestamps as Okta's text."""
    profile = data.get("profile") or {}
    return (
        data["id"],
        _s(data.get("status"), 20),
        _s(profile.get("login"), 255) or data["id"],
        _s(profile.get("email"), 255),
        _s(profile.get("firstName"), 100),
        _s(profile.get("lastName"), 100),
        _s(profile.get("displayName"), 255),
        _s(profile.get("department"), 100),
        _s(profile.get("title"), 150),
        _s(profile.get("managerId"), 32),
        _s(profile.get("employeeNumber"), 50),
        orjson.dumps(profile).decode(),
        data.get("created") or None,
        data.get("activated") or None,
        data.get("statusChanged") or None,
        data.get("lastLogin") or None,
        data.get("lastUpdated") or None,
        data.get("passwordChanged") or None,
    )


def okta_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def membership_row(group_id: str, data: dict[str, Any]) -> tuple[str, str]:
    return (group_id, data["id"])


def assignment_row(app_id: str, data: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        app_id,
        data["id"],
        _s(data.get("scope") or "USER", 10),
        _s(data.get("status"), 30),
    )
