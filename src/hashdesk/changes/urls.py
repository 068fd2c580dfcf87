"""Pages and feeds of change management under ``/changes/``."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.changes import feed_views, plan_views, views, watch_views

app_name = "changes"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.change_list, name="list"),
    path("calendar.ics", feed_views.all_changes, name="calendar_feed"),
    path("services/<slug:slug>/calendar.ics", feed_views.service_changes, name="service_feed"),
    path("feeds/<str:secret>.ics", feed_views.personal_feed, name="personal_feed"),
    path("new/", plan_views.new_change, name="new"),
    path("calendar/", plan_views.calendar_page, name="calendar"),
    path("feed/", plan_views.feed, name="feed"),
    path("<str:number>/", views.change_detail, name="detail"),
    path("<str:number>/check/", views.answer_check, name="check"),
    path("<str:number>/edit/", plan_views.edit_change, name="edit"),
    path("<str:number>/transition/", plan_views.transition, name="transition"),
    path("<str:number>/decide/", plan_views.decide, name="decide"),
    path("<str:number>/watch/", watch_views.watch, name="watch"),
]
