"""The audit pages with the portal's real backend: Okta group membership grants the permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from audit.services import audit_record
from okta.models import GroupMembership, OktaGroup, OktaUser
from tests.audit.conftest import person

pytestmark = pytest.mark.django_db

PORTAL_BACKEND = "accounts.auth.OktaOIDCBackend"


def _member_of(okta_id: str, login: str, group_name: str | None) -> Any:
    okta_user = OktaUser.objects.create(id=okta_id, status="ACTIVE", login=login, email=login)
    if group_name:
        group, _ = OktaGroup.objects.get_or_create(
            id=f"00g{group_name[:10].replace(' ', '')}",
            defaults={"type": "OKTA_GROUP", "name": group_name},
        )
        GroupMembership.objects.create(group=group, user=okta_user)
    return person(login, okta_id)


@pytest.mark.parametrize(
    ("group", "status", "can_export"),
    [
        (django_settings.GATEHOUSE_AUDITOR_GROUP, 200, True),
        (django_settings.GATEHOUSE_ADMIN_GROUP, 200, True),
        (django_settings.GATEHOUSE_HELPDESK_GROUP, 403, False),
        (None, 403, False),
    ],
)
def test_event_list_with_portal_roles(
    client: Client, settings: Any, group: str | None, status: int, can_export: bool
) -> None:
    settings.AUTHENTICATION_BACKENDS = [PORTAL_BACKEND]
    audit_record(action="request.submitted", target_label="Engineering - Backend")
    user = _member_of("00uroletest0001", "tessa.nguyen@example.com", group)
    client.force_login(user, backend=PORTAL_BACKEND)
    response = client.get("/audit/")
    assert response.status_code == status
    export = client.get("/audit/export.csv")
    assert (export.status_code == 200) is can_export
