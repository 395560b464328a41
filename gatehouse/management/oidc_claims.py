"""The local OIDC provider's one-click people (oidc-provider-mock's ``--user-claims-file``).

Each person's ``sub`` is their Okta user id, as it is when Okta itself is the provider, so the
sign-in backend matches them by id first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def person_claims(person: Mapping[str, Any]) -> dict[str, Any]:
    """OIDC claims for one directory person given as a mapping (sub or id, login, email, names)."""
    sub = str(person.get("sub") or person.get("id") or "")
    if not sub:
        raise ValueError(f"person without an Okta id: {person!r}")
    login = str(person.get("login") or person.get("email") or "")
    email = str(person.get("email") or login)
    given = str(person.get("first_name") or person.get("given_name") or "")
    family = str(person.get("last_name") or person.get("family_name") or "")
    name = str(person.get("name") or f"{given} {family}".strip() or login)
    return {
        "sub": sub,
        "email": email,
        "email_verified": True,
        "preferred_username": login,
        "name": name,
        "given_name": given,
        "family_name": family,
    }


def claims_file_write(path: Path, people: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Write the provider's claims file (JSON is valid YAML) and return the claims written."""
    claims = [person_claims(person) for person in people]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(claims, indent=2))
    return claims


REFUSED_STATUSES = ("SUSPENDED", "DEPROVISIONED", "LOCKED_OUT", "STAGED")


def acme_refused_people() -> dict[str, dict[str, Any]]:
    """For each status the sign-in refuses, the first person of the sandbox's acme seed who has
    it (the seed is deterministic, so it is always the same person)."""
    from okta.sandbox.seed import build_acme

    found: dict[str, dict[str, Any]] = {}
    org = build_acme("http://127.0.0.1")
    for okta_id in org.user_order:
        user = org.users[okta_id]
        status = user["status"]
        if status in REFUSED_STATUSES and status not in found:
            profile = user["profile"]
            found[status] = {
                "sub": okta_id,
                "login": profile["login"],
                "email": profile.get("email") or profile["login"],
                "given_name": profile.get("firstName", ""),
                "family_name": profile.get("lastName", ""),
                "status": status,
            }
    return found
