from django.apps import AppConfig


class AlertmanagerConfig(AppConfig):
    name = "hashdesk.integrations.alertmanager"
    label = "alertmanager"
    verbose_name = "Prometheus Alertmanager"
    default_auto_field = "django.db.models.BigAutoField"
