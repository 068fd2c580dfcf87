from django.apps import AppConfig


class WallConfig(AppConfig):
    name = "hashdesk.wall"
    label = "wall"
    verbose_name = "Wall"

    def ready(self) -> None:
        from hashdesk.wall import visibility  # noqa: F401 - registers the visibility rules
