from django.urls import URLPattern, URLResolver, path

from hashdesk.integrations.transfer import views

app_name = "transfer"
urlpatterns: list[URLPattern | URLResolver] = [
    path("import/", views.import_page, name="import"),
    path("import/<int:pk>/apply", views.import_apply, name="import-apply"),
    path("import/<int:pk>/report.csv", views.import_report, name="import-report"),
    path("export/<slug:name>.<slug:fmt>", views.export, name="export"),
    path("me/export", views.my_data, name="my-data"),
]
