from django.urls import URLPattern, URLResolver

app_name = "mastodon"
urlpatterns: list[URLPattern | URLResolver] = []
