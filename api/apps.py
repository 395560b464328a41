from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API under /api/v1/ and the tokens that call it."""

    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"
