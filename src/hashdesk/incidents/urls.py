"""Incident pages under /incidents/. Each page module keeps its own views; the routes are here."""

from django.urls import URLPattern, URLResolver, path, register_converter

from hashdesk.incidents import attachment_views, major_views, queue_views, views


class IncidentNumberConverter:
    """``INC-000123``: the number as people read it, so addresses can be pasted and said."""

    regex = r"INC-[0-9]{6,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IncidentNumberConverter, "incident")

app_name = "incidents"
urlpatterns: list[URLPattern | URLResolver] = [
    # The agent queue (staff); requesters are sent to their own list.
    path("", queue_views.queue, name="queue"),
    path("views/", queue_views.saved_view_create, name="saved-view-create"),
    path("views/<int:pk>/delete/", queue_views.saved_view_delete, name="saved-view-delete"),
    path("bulk/", queue_views.bulk, name="bulk"),
    # Requester pages and the incident page.
    path("mine/", views.mine, name="mine"),
    path("new/", views.create, name="create"),
    path("<incident:number>/", views.detail, name="detail"),
    path("<incident:number>/timeline/", views.timeline_fragment, name="timeline"),
    path("<incident:number>/edit/", views.edit, name="edit"),
    path("<incident:number>/transition/", views.transition, name="transition"),
    path("<incident:number>/assign/", views.assign, name="assign"),
    path("<incident:number>/updates/", views.add_update, name="add-update"),
    path("<incident:number>/me-too/", views.me_too, name="me-too"),
    path("<incident:number>/follow/", views.follow, name="follow"),
    # Attachments.
    path("<incident:number>/attachments/", attachment_views.upload, name="attachment-upload"),
    path(
        "<incident:number>/attachments/<int:pk>/<str:filename>",
        attachment_views.download,
        name="attachment",
    ),
    # Duplicates, links and the major-incident process.
    path("<incident:number>/links/", major_views.link, name="link"),
    path("<incident:number>/links/<int:pk>/delete/", major_views.unlink, name="unlink"),
    path("<incident:number>/merge/", major_views.merge, name="merge"),
    path("<incident:number>/major/", major_views.declare_major, name="major-declare"),
    path("<incident:number>/major/updates/", major_views.official_update, name="major-update"),
]
