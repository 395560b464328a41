"""The Okta token and the private key never appear in a response, a log line (every logger at
DEBUG, httpx and httpcore included) or an audit event, through the whole life of a connection:
saving it (token, then OAuth with a private key), a refused token, a full sync and every page an
admin can open."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from okta.models import OktaConnection, SyncRun
from okta.sync import sync_run_execute, sync_run_start
from portal.models import User
from tests.fixtures.sandbox import SandboxServer
from tests.portal.conftest import group_join, person_make
from tests.security.test_authorization_matrix import EXPECTED

pytestmark = pytest.mark.django_db

PARAMETERLESS_ADMIN_PAGES = [
    name
    for name, (method, outcomes) in sorted(EXPECTED.items())
    if method == "GET" and outcomes.split()[6] == "ok"
]


class Everything(logging.Handler):
    """Collects every record of every logger, formatted with its arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.getLogger().addHandler(handler)
    for lg in loggers[1:]:
        if not lg.propagate:
            lg.addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)
    for lg, level, disabled in saved:
        lg.setLevel(level)
        lg.disabled = disabled
        if handler in lg.handlers:
            lg.removeHandler(handler)


@pytest.fixture
def sandbox_unconfigured(okta_sandbox: SandboxServer, settings: Any) -> SandboxServer:
    """The sandbox runs, but only the connection page (as an admin would) tells Gatehouse."""
    settings.OKTA_ORG_URL = ""
    settings.OKTA_API_TOKEN = ""
    settings.OKTA_CLIENT_ID = ""
    settings.OKTA_PRIVATE_KEY = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return okta_sandbox


def admin_client() -> Client:
    sam = person_make("sam.rivera@acme.com", id="00usecretsadmin000")
    group_join(sam, "Gatehouse Admins")
    user = User.objects.create_user(sam.login, okta_id=sam.id)
    client = Client()
    client.force_login(user)
    return client


def secret_fragments(secret: str) -> list[str]:
    """The secret and each long line of it (a PEM's body lines are secrets on their own)."""
    lines = [line for line in secret.splitlines() if len(line) >= 16 and "-----" not in line]
    return [secret.strip(), *lines]


def assert_nowhere(fragments: list[str], *, pages: list[str], logs: list[str]) -> None:
    audit = json.dumps(list(AuditEvent.objects.values()), default=str)
    stored = json.dumps(list(OktaConnection.objects.values()), default=str)
    runs = json.dumps(list(SyncRun.objects.values()), default=str)
    log_text = "\n".join(logs)
    for fragment in fragments:
        assert fragment not in audit, "a secret is in the audit trail"
        assert fragment not in stored, "a secret is stored unencrypted"
        assert fragment not in runs, "a secret is in a sync run"
        assert fragment not in log_text, "a secret is in a log line"
        for page in pages:
            assert fragment not in page, "a secret is in a page"


def test_okta_token_never_in_responses_logs_or_audit(
    sandbox_unconfigured: SandboxServer, all_logs: Everything
) -> None:
    sandbox = sandbox_unconfigured
    client = admin_client()
    pages: list[str] = []
    refused = client.post(
        reverse("okta:connection"),
        {"org_url": sandbox.url, "auth_method": "token", "api_token": "wrong-" + sandbox.token},
    )
    assert refused.status_code == 400
    pages.append(refused.content.decode())
    saved = client.post(
        reverse("okta:connection"),
        {"org_url": sandbox.url, "auth_method": "token", "api_token": sandbox.token},
        follow=True,
    )
    assert saved.status_code == 200 and OktaConnection.objects.exists()
    pages.append(saved.content.decode())
    run = sync_run_start(actor="test", kind="full")
    sync_run_execute(run_id=run.pk)
    assert SyncRun.objects.get(pk=run.pk).status == "succeeded"
    for name in PARAMETERLESS_ADMIN_PAGES:
        if name in ("approvals:admin_item_new",) or "<" in reverse_pattern(name):
            continue
        response = client.get(reverse(name))
        pages.append(response.content.decode(errors="replace"))
    pages.append(client.get(reverse("okta:sync_run", args=[run.pk])).content.decode())
    assert len(all_logs.lines) > 0  # the handler saw the sync and the requests
    assert_nowhere(
        [*secret_fragments(sandbox.token), "wrong-" + sandbox.token],
        pages=pages,
        logs=all_logs.lines,
    )


def test_private_key_never_in_responses_logs_or_audit(
    sandbox_unconfigured: SandboxServer, all_logs: Everything
) -> None:
    sandbox = sandbox_unconfigured
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    scopes = ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"]
    sandbox.register_oauth_client("0oasecrets", public_pem, [*scopes, "okta.roles.read"])
    client = admin_client()
    response = client.post(
        reverse("okta:connection"),
        {
            "org_url": sandbox.url,
            "auth_method": "oauth",
            "client_id": "0oasecrets",
            "private_key": pem,
            "scopes": " ".join(scopes),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert OktaConnection.objects.get().auth_method == "oauth"
    run = sync_run_start(actor="test", kind="full")
    sync_run_execute(run_id=run.pk)
    pages = [response.content.decode(), client.get(reverse("okta:connection")).content.decode()]
    pages.append(client.get(reverse("okta:sync_run", args=[run.pk])).content.decode())
    assert "PRIVATE KEY" not in "".join(pages)
    assert_nowhere(secret_fragments(pem), pages=pages, logs=all_logs.lines)


def reverse_pattern(name: str) -> str:
    from tests.security.urlconf import routes

    return next(route.pattern for route in routes() if route.name == name)
