"""The Okta connection page: validation before saving, secrets at rest, read-only environment."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from accounts.models import User
from audit.models import AuditEvent
from okta.actors import SystemActor
from okta.connection import active_client
from okta.crypto import SecretUnreadableError, decrypt, encrypt
from okta.models import AdminRole, OktaConnection
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.accounts.conftest import group_join, person_make
from tests.fixtures.sandbox import SandboxServer

pytestmark = pytest.mark.django_db

TOKEN = "00-test-token-that-must-never-be-shown"


@pytest.fixture(autouse=True)
def _no_env_connection(settings: Any) -> None:
    settings.OKTA_ORG_URL = ""
    settings.OKTA_API_TOKEN = ""
    settings.OKTA_CLIENT_ID = ""
    settings.OKTA_PRIVATE_KEY = ""


@pytest.fixture
def admin_client(client: Client) -> Client:
    sam = person_make("sam.rivera@acme.com")
    group_join(sam, "Gatehouse Admins")
    user = User.objects.create_user(sam.login, okta_id=sam.id)
    client.force_login(user)
    return client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_crypto_round_trip_and_ciphertext_hides_secret() -> None:
    token = encrypt(TOKEN)
    assert TOKEN not in token
    assert decrypt(token) == TOKEN
    assert encrypt("") == ""


def test_crypto_rotation_old_key_still_decrypts(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = encrypt(TOKEN)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert decrypt(stored) == TOKEN
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(SecretUnreadableError):
        decrypt(stored)


def test_connection_page_invalid_private_key_gives_clear_message_and_saves_nothing(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        "/admin/okta/",
        {
            "org_url": "https://acme.okta.com",
            "auth_method": "oauth",
            "client_id": "0oaservice",
            "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
            "scopes": "okta.users.read",
        },
    )
    assert response.status_code == 400
    assert b"The private key cannot be read" in response.content
    assert not OktaConnection.objects.exists()


def test_connection_page_unreachable_org_url_gives_clear_message_and_saves_nothing(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        "/admin/okta/",
        {
            "org_url": f"http://127.0.0.1:{closed_port()}",
            "auth_method": "token",
            "api_token": TOKEN,
        },
    )
    assert response.status_code == 400
    assert b"Okta could not be reached at that URL" in response.content
    assert TOKEN.encode() not in response.content
    assert not OktaConnection.objects.exists()


def test_connection_page_missing_token_is_a_form_error(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/okta/", {"org_url": "https://acme.okta.com", "auth_method": "token"}
    )
    assert response.status_code == 400
    assert b"Enter the API token." in response.content
    assert not OktaConnection.objects.exists()


def test_connection_page_never_renders_stored_secrets(admin_client: Client) -> None:
    OktaConnection.objects.create(
        pk=1,
        org_url="https://acme.okta.com",
        auth_method="token",
        api_token_encrypted=encrypt(TOKEN),
        acts_as="robot@acme.com (00urobot)",
        event_hook_secret_encrypted=encrypt("hook-secret-value"),
    )
    response = admin_client.get("/admin/okta/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "robot@acme.com" in content
    assert TOKEN not in content
    assert "hook-secret-value" not in content
    assert OktaConnection.objects.get().api_token_encrypted not in content


def test_connection_page_environment_credentials_are_read_only(
    admin_client: Client, settings: Any
) -> None:
    settings.OKTA_ORG_URL = "https://env.okta.com"
    settings.OKTA_API_TOKEN = TOKEN
    page = admin_client.get("/admin/okta/")
    assert b'data-testid="env-connection"' in page.content
    assert b"https://env.okta.com" in page.content
    assert TOKEN.encode() not in page.content
    response = admin_client.post(
        "/admin/okta/",
        {"org_url": "https://other.okta.com", "auth_method": "token", "api_token": "x"},
    )
    assert response.status_code == 400
    assert b"come from the environment" in response.content
    assert not OktaConnection.objects.exists()


def test_active_client_prefers_environment_then_stored_connection(settings: Any) -> None:
    OktaConnection.objects.create(
        pk=1,
        org_url="https://stored.okta.com",
        auth_method="token",
        api_token_encrypted=encrypt(TOKEN),
    )
    with active_client(governor=None) as client:
        assert client.org_url == "https://stored.okta.com"
    settings.OKTA_ORG_URL = "https://env.okta.com"
    settings.OKTA_API_TOKEN = "env-token"
    with active_client(governor=None) as client:
        assert client.org_url == "https://env.okta.com"


# --- against the sandbox ----------------------------------------------------------------------


@pytest.fixture
def sandbox_not_in_env(okta_sandbox: SandboxServer, settings: Any) -> SandboxServer:
    """The sandbox is running, but the environment does not configure it: the admin does."""
    settings.OKTA_ORG_URL = ""
    settings.OKTA_API_TOKEN = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return okta_sandbox


def test_connection_page_wrong_token_gives_clear_message_and_saves_nothing(
    admin_client: Client, sandbox_not_in_env: SandboxServer
) -> None:
    response = admin_client.post(
        "/admin/okta/",
        {"org_url": sandbox_not_in_env.url, "auth_method": "token", "api_token": "wrong-token"},
    )
    assert response.status_code == 400
    assert b"Okta refused the credentials" in response.content
    assert b"wrong-token" not in response.content
    assert not OktaConnection.objects.exists()


def test_connection_page_token_is_validated_stored_encrypted_and_never_shown(
    admin_client: Client, sandbox_not_in_env: SandboxServer
) -> None:
    token = sandbox_not_in_env.token
    response = admin_client.post(
        "/admin/okta/",
        {"org_url": sandbox_not_in_env.url, "auth_method": "token", "api_token": token},
        follow=True,
    )
    assert response.status_code == 200
    conn = OktaConnection.objects.get()
    assert token not in conn.api_token_encrypted
    assert decrypt(conn.api_token_encrypted) == token
    assert "@" in conn.acts_as  # the token's own user (GET /api/v1/users/me)
    content = response.content.decode()
    assert conn.acts_as in content
    assert token not in content
    assert conn.api_token_encrypted not in content
    assert AuditEvent.objects.filter(action="okta.connection.saved").exists()
    assert token not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    with active_client(governor=None) as client:
        assert client.get_user("me").login in conn.acts_as


def test_connection_page_blank_token_keeps_stored_one(
    admin_client: Client, sandbox_not_in_env: SandboxServer
) -> None:
    url, token = sandbox_not_in_env.url, sandbox_not_in_env.token
    admin_client.post("/admin/okta/", {"org_url": url, "auth_method": "token", "api_token": token})
    response = admin_client.post("/admin/okta/", {"org_url": url, "auth_method": "token"})
    assert response.status_code == 302
    assert decrypt(OktaConnection.objects.get().api_token_encrypted) == token


def test_connection_page_oauth_private_key_is_validated_with_a_scoped_read(
    admin_client: Client, sandbox_not_in_env: SandboxServer
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sandbox_not_in_env.register_oauth_client("0oagatehouse", public_pem, ["okta.users.read"])
    response = admin_client.post(
        "/admin/okta/",
        {
            "org_url": sandbox_not_in_env.url,
            "auth_method": "oauth",
            "client_id": "0oagatehouse",
            "private_key": pem,
            "scopes": "okta.users.read",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    conn = OktaConnection.objects.get()
    assert conn.auth_method == "oauth"
    assert decrypt(conn.private_key_encrypted) == pem.strip()
    assert "BEGIN" not in conn.private_key_encrypted
    page = admin_client.get("/admin/okta/").content.decode()
    assert "PRIVATE KEY" not in page


def test_connection_page_oauth_unknown_client_gives_clear_message(
    admin_client: Client, sandbox_not_in_env: SandboxServer
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    response = admin_client.post(
        "/admin/okta/",
        {
            "org_url": sandbox_not_in_env.url,
            "auth_method": "oauth",
            "client_id": "0oanobody",
            "private_key": pem,
            "scopes": "okta.users.read",
        },
    )
    assert response.status_code == 400
    assert b"Okta refused the credentials" in response.content
    assert not OktaConnection.objects.exists()


def test_connection_page_discovery_lists_admin_role_holders(
    client: Client, okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    run = sync_run_start(actor=SystemActor("test"), kind="full")
    sync_run_execute(run_id=run.pk)
    sam = User.objects.create_user(
        "sam.rivera@acme.com", okta_id=okta_sandbox.user_id("sam.rivera@acme.com")
    )
    client.force_login(sam)
    page = client.get("/admin/okta/").content.decode()
    holder = AdminRole.objects.select_related("user").first()
    assert holder is not None
    assert holder.user.login in page
    assert "Gatehouse Admins" in page  # suggested approver group
