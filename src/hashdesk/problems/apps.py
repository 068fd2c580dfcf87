from django.apps import AppConfig


class ProblemsConfig(AppConfig):
    name = "hashdesk.problems"
    label = "problems"
    verbose_name = "Problems"
