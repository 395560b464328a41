"""Sign-in through OIDC (mozilla-django-oidc), matched to the Okta directory.

Placeholder until the sign-in work lands: the backend refuses everyone.
"""

from __future__ import annotations

from typing import Any

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class OktaOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.none()

    def create_user(self, claims: dict[str, Any]) -> Any:
        return None
