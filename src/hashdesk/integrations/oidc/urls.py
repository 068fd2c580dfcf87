from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.oidc import views

app_name = "oidc"
urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("signed-out/", views.signed_out, name="signed-out"),
]
