from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "hashdesk.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        # Registers the visibility rules.
        from hashdesk.knowledge import visibility  # noqa: F401
