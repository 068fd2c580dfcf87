from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.alertmanager import views

app_name = "alertmanager"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.receive, name="webhook"),
    path("receivers/", views.receiver_list, name="receivers"),
    path("receivers/new", views.receiver_create, name="receiver-create"),
    path("receivers/<slug:slug>/", views.receiver_detail, name="receiver"),
    path("receivers/<slug:slug>/mappings", views.mapping_add, name="mapping-add"),
    path(
        "receivers/<slug:slug>/mappings/<int:pk>/remove",
        views.mapping_remove,
        name="mapping-remove",
    ),
    path("receivers/<slug:slug>/rotate", views.token_rotate, name="token-rotate"),
    path("awaiting/", views.awaiting, name="awaiting"),
    path("awaiting/<int:pk>/publish", views.publish, name="publish"),
    # Last: a receiver's own address (the bare one above finds the receiver by its token).
    path("<slug:slug>/", views.receive, name="receiver-webhook"),
]
