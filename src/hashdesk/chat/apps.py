from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "hashdesk.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Registers the visibility rules, and the huey tasks in every process.
        from hashdesk.chat import tasks, visibility  # noqa: F401
