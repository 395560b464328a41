from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac


class User(AbstractUser):
    """A person who has signed in to Gatehouse, linked to their Okta user.

    The username is the Okta login. ``okta_id`` is Okta's immutable user id (the OIDC ``sub``
    when Okta is the provider); it is text, not a foreign key, so accounts stand apart from the
    directory mirror, which sync may rebuild at any time.

    ``session_epoch`` is part of the session hash Django checks on every request: raising it
    (``accounts.services.accounts_sessions_end``) ends every session the account has, without
    looking at the session store.
    """

    okta_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    session_epoch = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        return self._epoch_hash(super().get_session_auth_hash(), None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        fallbacks = zip(
            super().get_session_auth_fallback_hash(), settings.SECRET_KEY_FALLBACKS, strict=True
        )
        for password_hash, secret in fallbacks:
            yield self._epoch_hash(password_hash, secret)

    def _epoch_hash(self, password_hash: str, secret: str | bytes | None) -> str:
        if not self.session_epoch:
            return password_hash  # accounts whose sessions never ended keep Django's hash
        return salted_hmac(
            "portal.models.User.session_epoch",
            f"{password_hash}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()
