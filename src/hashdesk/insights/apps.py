from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "hashdesk.insights"
    label = "insights"
    verbose_name = "Insights"
