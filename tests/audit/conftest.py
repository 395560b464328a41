"""Audit test people and helpers: tessa (the auditor) and stan (the stranger) of the one cast
(tests/world.py), and vic, who may read the trail but not export it.

The audit pages authorise with ``user.has_perm("audit.view_auditevent")`` and
``"audit.export_auditevent"``; these tests grant those through Django's ModelBackend and real
Permission rows, so they do not depend on how the portal maps roles to permissions
(tests/audit/test_roles.py checks that mapping with the portal's backend).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.world import account

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def grant(user: Any, *codenames: str) -> Any:
    """Give ``user`` the audit permissions named (``"view_auditevent"``, ``"export_auditevent"``)."""
    perms = Permission.objects.filter(content_type__app_label="audit", codename__in=codenames)
    assert perms.count() == len(codenames), codenames
    user.user_permissions.add(*perms)
    return user


def person(username: str, okta_id: str, *codenames: str) -> Any:
    user = get_user_model().objects.create_user(
        username=username, okta_id=okta_id, display_name=username.replace(".", " ").title()
    )
    return grant(user, *codenames) if codenames else user


@pytest.fixture(autouse=True)
def _model_backend(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = [MODEL_BACKEND]


@pytest.fixture
def auditor(db: None) -> Any:
    return grant(account("tessa"), "view_auditevent", "export_auditevent")


@pytest.fixture
def viewer(db: None) -> Any:
    """May read the trail but not export it."""
    return person("vic.viewer", "00uviewer00001", "view_auditevent")


@pytest.fixture
def stranger(db: None) -> Any:
    return account("stan")
