from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "hashdesk.changes"
    label = "changes"
    verbose_name = "Changes"

    def ready(self) -> None:
        # Registers the visibility rules.
        from hashdesk.changes import visibility  # noqa: F401
