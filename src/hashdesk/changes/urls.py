"""Pages and feeds of change management under ``/changes/``."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.changes import feed_views, views

app_name = "changes"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.change_list, name="list"),
    path("calendar.ics", feed_views.all_changes, name="calendar_feed"),
    path("services/<slug:slug>/calendar.ics", feed_views.service_changes, name="service_feed"),
    path("feeds/<str:secret>.ics", feed_views.personal_feed, name="personal_feed"),
    path("<str:number>/", views.change_detail, name="detail"),
]
