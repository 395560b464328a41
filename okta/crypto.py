"""Secrets at rest: Fernet encryption of connection credentials stored in the database.

Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (the first encrypts, all decrypt, so keys can be
rotated). With none configured, DEBUG and tests derive one from ``SECRET_KEY``; production refuses.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadableError(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"gatehouse-field-encryption:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys: list[str] = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    if keys:
        try:
            return MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from exc
    if settings.DEBUG or getattr(settings, "TESTING", False):
        return MultiFernet([Fernet(_derived_key())])
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set to store Okta credentials.")


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext``; the empty string stays empty (nothing stored)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadableError(
            "A stored Okta secret cannot be decrypted: was FIELD_ENCRYPTION_KEYS changed "
            "without keeping the old key?"
        ) from exc
