from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "hashdesk.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from hashdesk.core.logging import configure_logging

        configure_logging(log_format=settings.LOG_FORMAT, level=settings.LOG_LEVEL)
        # Registers the outbox channel handlers (email, ...) and the huey tasks in every
        # process, so a worker can deliver whatever a web process enqueued.
        from hashdesk.core import outbox, tasks  # noqa: F401
