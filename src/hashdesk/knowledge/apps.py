from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "hashdesk.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        # Registers the visibility rules, and the huey tasks in every process.
        from hashdesk.knowledge import tasks, visibility  # noqa: F401
