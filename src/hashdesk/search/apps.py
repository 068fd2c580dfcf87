from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "hashdesk.search"
    label = "search"
    verbose_name = "Search"
