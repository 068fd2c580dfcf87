from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "hashdesk.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the outbox handlers of the channels and the huey tasks in every process,
        # and the delivery log's visibility rule for outbox rows (notify.delivery_log).
        from hashdesk.notify import chat_tools, delivery_log, email, tasks, webhooks  # noqa: F401
