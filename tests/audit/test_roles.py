"""The audit pages with the portal's real backend: Okta group membership grants the permissions."""

from __future__ import annotations

from typing import Any

import pytest

from audit.services import audit_record
from tests.world import Cast, ClientFor

pytestmark = pytest.mark.django_db

PORTAL_BACKEND = "accounts.auth.OktaOIDCBackend"


@pytest.mark.parametrize(
    ("who", "status", "can_export"),
    [
        ("tessa", 200, True),  # the auditor
        ("sam", 200, True),  # the admin
        ("jordan", 403, False),  # helpdesk
        ("stan", 403, False),  # in no portal group
    ],
)
def test_event_list_with_portal_roles(
    cast: Cast,
    client_for: ClientFor,
    settings: Any,
    who: str,
    status: int,
    can_export: bool,
) -> None:
    settings.AUTHENTICATION_BACKENDS = [PORTAL_BACKEND]
    audit_record(action="request.submitted", target_label="Engineering - Backend")
    client = client_for(who)
    response = client.get("/audit/")
    assert response.status_code == status
    export = client.get("/audit/export.csv")
    assert (export.status_code == 200) is can_export
