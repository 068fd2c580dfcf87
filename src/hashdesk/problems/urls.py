"""Problem pages under ``/problems/`` (staff only)."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.problems import views

app_name = "problems"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.problem_list, name="list"),
    path("new/", views.problem_new, name="new"),
    path("link-incident/", views.link_from_incident, name="link_incident"),
    path("<int:pk>/", views.problem_detail, name="detail"),
    path("<int:pk>/edit/", views.problem_edit, name="edit"),
    path("<int:pk>/transition/", views.problem_transition, name="transition"),
    path("<int:pk>/link/", views.problem_link, name="link"),
    path("<int:pk>/unlink/<int:incident_id>/", views.problem_unlink, name="unlink"),
    path("<int:pk>/publish/", views.problem_publish, name="publish"),
]
