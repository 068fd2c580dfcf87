from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "hashdesk.incidents"
    label = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hashdesk.incidents import visibility  # noqa: F401  (registers the rules)
