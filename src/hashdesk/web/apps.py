from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class WebConfig(AppConfig):
    name = "hashdesk.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each app with pages registers its navigation entry in its own navigation.py
        # (hashdesk.web.navigation); importing them here makes the entries appear exactly when
        # the app is installed.
        autodiscover_modules("navigation")
