from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "hashdesk.sla"
    label = "sla"
    verbose_name = "Service levels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hashdesk.sla import visibility  # noqa: F401  (registers the rules)
