"""Addresses of the Slack-compatible incoming webhooks, under ``/integrations/slack/``."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.slack import views

app_name = "slack"
urlpatterns: list[URLPattern | URLResolver] = [
    path("hooks/<str:public_id>/<str:secret>", views.receive, name="receive"),
    path("", views.hook_list, name="hooks"),
    path("new/", views.hook_create, name="hook-create"),
    path("<int:pk>/rotate/", views.hook_rotate, name="hook-rotate"),
    path("<int:pk>/disable/", views.hook_disable, name="hook-disable"),
    path("<int:pk>/enable/", views.hook_enable, name="hook-enable"),
    path("<int:pk>/delete/", views.hook_delete, name="hook-delete"),
]
