from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals import signals
        from chat import receivers

        signals.stage_opened.connect(receivers.stage_opened, dispatch_uid="chat.stage_opened")
        signals.request_decided.connect(
            receivers.request_decided, dispatch_uid="chat.request_decided"
        )
