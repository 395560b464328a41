"""The Okta connection page: validation before saving, secrets at rest, read-only environment."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from okta.connection import active_client
from okta.crypto import SecretUnreadableError, decrypt, encrypt
from okta.models import OktaConnection
from portal.models import User
from tests.portal.conftest import group_join, person_make

pytestmark = pytest.mark.django_db

TOKEN = "00-test-token-that-must-never-be-shown"


@pytest.fixture(autouse=True)
def _no_env_connection(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    settings.OKTA_ORG_URL = ""
    settings.OKTA_API_TOKEN = ""
    settings.OKTA_CLIENT_ID = ""
    settings.OKTA_PRIVATE_KEY = ""


@pytest.fixture
def admin_client(client: Client) -> Client:
    sam = person_make("sam.rivera@acme.com")
    group_join(sam, "Gatehouse Admins")
    user = User.objects.create_user(sam.login, okta_id=sam.id)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
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
