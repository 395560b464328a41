"""Schema-driven fuzzing of the REST API (schemathesis over WSGI): whatever the body, path or
query, no call answers 500, signed in as an admin who holds every scope (the widest reach)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.tokens import token_create
from gatehouse.wsgi import application
from tests.api.test_api import EVERY_SCOPE
from tests.approvals.conftest import ensure_default_policies, item_make
from tests.world import Cast

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_database_open() -> Iterator[None]:
    """Calls go straight to the WSGI application, whose request signals would close the test
    database's connection after each call; Django's test client unhooks them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(cast: Cast, settings: Any) -> str:
    settings.API_RATE_LIMIT = "100000/m"
    ensure_default_policies()
    item_make("Engineering - Backend", policy="Manager approval")
    _, raw = token_create(
        actor=cast.u["sam"], name="fuzz", kind="service", scopes=EVERY_SCOPE, days=1
    )
    return raw


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_call_answers_500(case: Any, admin_token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    case.validate_response(response, checks=[not_a_server_error])
