from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "hashdesk.status"
    label = "status"
    verbose_name = "Status page"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers navigation, the hooks that keep the page current, and the huey tasks.
        from hashdesk.status import hooks, navigation, subscribers, tasks  # noqa: F401
