"""The accounts tests' people: the one cast of tests/world.py (a small mirror, no Okta
needed), and a factory for anyone else a test needs."""

from __future__ import annotations

from typing import Any

import pytest

from okta.models import GroupMembership, GroupType, OktaGroup, OktaUser
from tests.world import Cast


def person_make(login: str, *, status: str = "ACTIVE", **fields: Any) -> OktaUser:
    local = login.split("@")[0]
    first, _, last = local.partition(".")
    okta_id = fields.pop("id", "00u" + local.replace(".", "")[:14].ljust(17, "x"))
    return OktaUser.objects.create(
        id=okta_id,
        login=login,
        email=fields.pop("email", login),
        status=status,
        first_name=fields.pop("first_name", first.title()),
        last_name=fields.pop("last_name", last.title()),
        **fields,
    )


def group_join(person: OktaUser, group_name: str) -> None:
    group, _ = OktaGroup.objects.get_or_create(
        name=group_name,
        defaults={
            "id": "00g" + group_name.replace(" ", "").lower()[:17],
            "type": GroupType.OKTA_GROUP,
        },
    )
    GroupMembership.objects.create(group=group, user=person)


@pytest.fixture
def maya(cast: Cast) -> OktaUser:
    """maya of the one cast (tests/world.py), with everyone else of it in the mirror."""
    return cast.maya


@pytest.fixture
def claims_of() -> Any:
    def claims(person: OktaUser, **extra: Any) -> dict[str, Any]:
        return {"sub": person.id, "email": person.email, "email_verified": True, **extra}

    return claims
