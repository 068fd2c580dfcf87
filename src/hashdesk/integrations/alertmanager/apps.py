from django.apps import AppConfig


class AlertmanagerConfig(AppConfig):
    name = "hashdesk.integrations.alertmanager"
    label = "alertmanager"
    verbose_name = "Prometheus Alertmanager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The incident page's "Publish" panel for incidents behind the human gate.
        from hashdesk.incidents import panels as incident_panels
        from hashdesk.integrations.alertmanager.panels import PUBLISH_PANEL

        incident_panels.register(PUBLISH_PANEL)
