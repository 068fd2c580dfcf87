"""Search pages (docs/search.md), mounted at /search/."""

from django.urls import path

from hashdesk.search import views

app_name = "search"
urlpatterns = [
    path("", views.results, name="results"),
    path("synonyms/", views.synonym_list, name="synonyms"),
    path("synonyms/<int:pk>/delete/", views.synonym_delete, name="synonym-delete"),
]
