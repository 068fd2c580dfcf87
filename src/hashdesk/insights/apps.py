from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "hashdesk.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        # Keeps the similarity index in step with the records it finds, registers the
        # navigation, and the huey tasks in every process.
        from hashdesk.insights import (  # noqa: F401
            clustering_tasks,
            deflection,
            index_hooks,
            index_tasks,
            navigation,
            routing_tasks,
            visibility,
        )
        from hashdesk.insights.bursts import tasks  # noqa: F401
