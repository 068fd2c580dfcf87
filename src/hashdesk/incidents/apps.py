from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "hashdesk.incidents"
    label = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the visibility rules, and the huey tasks in every process.
        from hashdesk.incidents import tasks, visibility  # noqa: F401
