"""Deterministic Okta-like ids and timestamps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def okta_id(prefix: str, key: str) -> str:
    """``prefix`` + 17 base-62 characters derived from ``key`` (stable across runs)."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big")
    chars = []
    for _ in range(17):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return prefix + "".join(chars)


def iso(moment: datetime) -> str:
    """Okta's timestamp format: UTC, milliseconds, ``Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive ones are UTC. Raises ValueError."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
