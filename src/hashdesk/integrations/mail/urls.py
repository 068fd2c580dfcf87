from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.mail import views

app_name = "mail"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbound_log, name="log"),
]
