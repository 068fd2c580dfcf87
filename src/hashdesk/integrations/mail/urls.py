from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.mail import views

app_name = "mail"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbound_log, name="log"),
    path("aliases/", views.alias_list, name="aliases"),
    path("aliases/new/", views.alias_create, name="alias-create"),
    path("aliases/<int:pk>/", views.alias_edit, name="alias-edit"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="alias-delete"),
]
