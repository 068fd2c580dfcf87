from django.urls import URLPattern, URLResolver

app_name = "slack"
urlpatterns: list[URLPattern | URLResolver] = []
