from django.urls import URLPattern, URLResolver

app_name = "alertmanager"
urlpatterns: list[URLPattern | URLResolver] = []
