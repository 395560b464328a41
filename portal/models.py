from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who has signed in to Gatehouse, linked to their Okta user.

    The username is the Okta login. ``okta_id`` is Okta's immutable user id (the OIDC ``sub``
    when Okta is the provider); it is text, not a foreign key, so accounts stand apart from the
    directory mirror, which sync may rebuild at any time.
    """

    okta_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username
