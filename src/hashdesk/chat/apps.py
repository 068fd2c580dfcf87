from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "hashdesk.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Registers the visibility rules.
        from hashdesk.chat import visibility  # noqa: F401
