from django.apps import AppConfig


class OktaConfig(AppConfig):
    name = "okta"
    default_auto_field = "django.db.models.BigAutoField"
