"""CSRF is required on every POST: a client that enforces CSRF checks (as a browser's session
would be) is refused with 403 on every URL of the URLconf, by a person who may use that URL, and
nothing changes. The one exception is Okta's event hook, which Okta calls with its shared secret
and no session (its own tests prove the secret is required)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tests.security.conftest import ROLES, World
from tests.security.test_authorization_matrix import EXPECTED, address

# The REST API takes bearer tokens only, never a session, so a forged cross-site POST carries
# nothing that authenticates it: test_api_posts_with_only_a_session_are_401 below.
API_POSTS = {
    name for name, (method, _) in EXPECTED.items() if name.startswith("api:") and method == "POST"
}
CSRF_EXEMPT = {
    "okta:event_hook",
    "chat:slack_interactions",
    *(name for name in EXPECTED if name.startswith("api:")),
}


def allowed_role(outcomes: str) -> str:
    """The first role that may use the URL (anonymous for public ones)."""
    words = outcomes.split()
    return ROLES[words.index("ok")] if "ok" in words else "admin"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(EXPECTED) - CSRF_EXEMPT))
def test_post_without_csrf_token_is_refused(name: str, world: World) -> None:
    _, outcomes = EXPECTED[name]
    role = allowed_role(outcomes)
    client = world.client(role, enforce_csrf_checks=True)
    client.get("/")  # a session and a CSRF cookie, as a browser would have
    before = AuditEvent.objects.count()
    response = client.post(address(name, world), {"reason": "x", "decision": "approve"})
    assert response.status_code == 403, (role, response.status_code)
    assert b"CSRF" in response.content
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_htmx_posts_carry_the_csrf_token_in_hx_headers(world: World) -> None:
    page = world.client("employee").get("/").content.decode()
    assert "hx-headers" in page and "X-CSRFToken" in page


@pytest.mark.django_db
def test_post_with_csrf_token_passes_the_check(world: World) -> None:
    """The refusals above are CSRF's doing: the same POST with the token is accepted."""
    client = world.client("employee", enforce_csrf_checks=True)
    client.get("/")
    token = client.cookies["csrftoken"].value
    url = address("approvals:request_cancel", world)
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code in (200, 302)
    world.request.refresh_from_db()
    assert world.request.status == "CANCELLED"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_POSTS))
def test_api_posts_with_only_a_session_are_401(name: str, world: World) -> None:
    client = world.client("admin", enforce_csrf_checks=True)
    client.get("/")
    before = AuditEvent.objects.count()
    response = client.post(address(name, world), {"outcome": "approve"})
    assert response.status_code == 401
    assert AuditEvent.objects.count() == before
