from django.apps import AppConfig


class ProblemsConfig(AppConfig):
    name = "hashdesk.problems"
    label = "problems"
    verbose_name = "Problems"

    def ready(self) -> None:
        # Registers the visibility rules, navigation, the hooks that offer known errors and
        # watch recurrence, and the huey tasks in every process.
        from hashdesk.problems import hooks, navigation, tasks, visibility  # noqa: F401
