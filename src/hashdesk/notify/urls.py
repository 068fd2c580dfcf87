from django.urls import URLPattern, URLResolver, path

from hashdesk.notify import views

app_name = "notify"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.notification_list, name="list"),
    path("menu/", views.menu_fragment, name="menu"),
    path("read/", views.mark_read, name="mark-read"),
]
