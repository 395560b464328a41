from django.apps import AppConfig


class IdentityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Identity operations"

    def ready(self) -> None:
        from approvals.fulfilment import Fulfilment, fulfilment_register
        from identity import services

        # Actions that need approval are decided as approvals requests of this kind; approvals
        # asks identity only which operations to write and where the action's page is.
        fulfilment_register(
            Fulfilment(
                kind=services.APPROVAL_KIND,
                operations=services.approved_operations,
                link=services.approval_link,
                followups=services.approved_followups,
            )
        )
