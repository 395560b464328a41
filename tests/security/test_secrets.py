"""The Okta token and the private key never appear in a response, a log line (every logger at
DEBUG, httpx and httpcore included) or an audit event, through the whole life of a connection:
saving it (token, then OAuth with a private key), a refused token, a full sync, every page an
admin can open, and the outbox's operations, in this process and in a real worker's log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.models import OktaConnection, Operation, OperationKind, OperationStatus, SyncRun
from okta.operations import operation_enqueue, operation_execute
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.fixtures.sandbox import SandboxServer
from tests.security.test_authorization_matrix import EXPECTED
from tests.world import Cast, client_as

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
    Cast()  # sam is in "Gatehouse Admins"
    return client_as("sam")


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
    run = sync_run_start(actor=SystemActor("test"), kind="full")
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
    run = sync_run_start(actor=SystemActor("test"), kind="full")
    sync_run_execute(run_id=run.pk)
    pages = [response.content.decode(), client.get(reverse("okta:connection")).content.decode()]
    pages.append(client.get(reverse("okta:sync_run", args=[run.pk])).content.decode())
    assert "PRIVATE KEY" not in "".join(pages)
    assert_nowhere(secret_fragments(pem), pages=pages, logs=all_logs.lines)


def reverse_pattern(name: str) -> str:
    from tests.security.urlconf import routes

    return next(route.pattern for route in routes() if route.name == name)


def enqueue_member_add(group: str, login: str) -> Operation:
    from okta.sandbox.seed import acme_group_id, acme_user_id

    with transaction.atomic():
        return operation_enqueue(
            kind=OperationKind.GROUP_MEMBER_ADD,
            params={"group_id": acme_group_id(group), "user_id": acme_user_id(login)},
            actor="sam.rivera@acme.com",
            correlation="secrets:test",
        )


def test_okta_token_never_in_operation_logs_or_audit(
    okta_sandbox: SandboxServer, all_logs: Everything, settings: Any
) -> None:
    """The outbox's paths, every logger at DEBUG: Okta says yes, refuses for good, fails once
    with a 503 (a retry is planned), and refuses a wrong token."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from okta.sandbox.seed import acme_group_id

    okta_sandbox.set_faults(
        rules=[
            {
                "refuse_code": "E0000006",
                "path_prefix": f"/api/v1/groups/{acme_group_id('Finance')}",
            },
            {"error_rate": 1.0, "error_status": 503, "path_prefix": "/api/v1/apps"},
        ]
    )
    added = enqueue_member_add("Engineering - Backend", "maya.chen@acme.com")
    refused = enqueue_member_add("Finance", "maya.chen@acme.com")
    with transaction.atomic():
        unavailable = operation_enqueue(
            kind=OperationKind.APP_USER_ASSIGN,
            params={
                "app_id": okta_sandbox.app_id("Salesforce"),
                "user_id": okta_sandbox.user_id("maya.chen@acme.com"),
            },
            actor="sam.rivera@acme.com",
        )
    for op in (added, refused, unavailable):
        operation_execute(op.pk)
    settings.OKTA_API_TOKEN = "wrong-" + okta_sandbox.token
    bad_token = enqueue_member_add("Engineering - Frontend", "john.doe@acme.com")
    operation_execute(bad_token.pk)
    outcomes = {
        op.pk: (op.status, op.error_code)
        for op in Operation.objects.filter(
            pk__in=[added.pk, refused.pk, unavailable.pk, bad_token.pk]
        )
    }
    assert outcomes == {
        added.pk: (OperationStatus.SUCCEEDED, ""),
        refused.pk: (OperationStatus.FAILED, "E0000006"),
        unavailable.pk: (OperationStatus.PENDING, "E0000009"),  # will be tried again
        bad_token.pk: (OperationStatus.FAILED, "E0000011"),
    }
    client = admin_client()
    pages = [client.get(reverse("approvals:operations")).content.decode()]
    operations = json.dumps(list(Operation.objects.values()), default=str)
    assert any("okta" in line for line in all_logs.lines)
    for fragment in [okta_sandbox.token, "wrong-" + okta_sandbox.token]:
        assert fragment not in operations, "a secret is in an operation row"
    assert_nowhere(
        [okta_sandbox.token, "wrong-" + okta_sandbox.token], pages=pages, logs=all_logs.lines
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_okta_token_never_in_the_worker_log(
    okta_sandbox: SandboxServer, celery_worker: Any
) -> None:
    """The real worker process's log (Celery at INFO, as deployed) through a change Okta makes
    and one it refuses."""
    from okta.sandbox.seed import acme_group_id

    okta_sandbox.set_faults(
        refuse_code="E0000006", path_prefix=f"/api/v1/groups/{acme_group_id('Finance')}"
    )
    ops = [
        enqueue_member_add("Engineering - Backend", "maya.chen@acme.com"),
        enqueue_member_add("Finance", "maya.chen@acme.com"),
    ]
    celery_worker.wait_for(
        lambda: all(Operation.objects.get(pk=op.pk).is_final for op in ops),
        timeout=180,
        what="both operations to finish",
    )
    log = celery_worker.log()
    assert "okta.operation_run[" in log  # the log is the one that ran them
    assert okta_sandbox.token not in log
    assert "SSWS" not in log
