from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People signed in to Gatehouse: the user model, OIDC sign-in, roles and sessions.

    The label stays ``portal`` (the app's name before the project shell moved out), so the
    ``portal_user`` table, its migration history and ``AUTH_USER_MODEL = "portal.User"`` hold
    on every existing database."""

    name = "accounts"
    label = "portal"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (connects the okta signals)
