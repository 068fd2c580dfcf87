from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "hashdesk.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hashdesk.catalog import visibility  # noqa: F401  (registers the rules)
