from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "hashdesk.changes"
    label = "changes"
    verbose_name = "Changes"

    def ready(self) -> None:
        # Registers the visibility rules, and the huey tasks in every process.
        from hashdesk.changes import tasks, visibility  # noqa: F401
