from django.apps import AppConfig


class IdentityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Identity operations"

    def ready(self) -> None:
        from approvals.inbox import InboxSection, inbox_section_register
        from identity import services

        inbox_section_register(
            InboxSection(
                key="identity",
                title="Identity actions waiting for you",
                template="identity/_inbox_section.html",
                count=lambda user: services.pending_for(user).count(),
                rows=lambda user: list(services.pending_for(user).order_by("created_at")[:200]),
            )
        )
