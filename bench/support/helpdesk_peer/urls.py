"""The peer's routes: django-helpdesk at the root, as its guide mounts it."""

from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
