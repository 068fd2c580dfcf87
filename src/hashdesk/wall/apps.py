from django.apps import AppConfig


class WallConfig(AppConfig):
    name = "hashdesk.wall"
    label = "wall"
    verbose_name = "Wall"

    def ready(self) -> None:
        # Registers the visibility rules, and the huey tasks in every process.
        from hashdesk.wall import tasks, visibility  # noqa: F401
