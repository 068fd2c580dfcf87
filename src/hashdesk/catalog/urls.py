from django.urls import URLPattern, URLResolver, path

from hashdesk.catalog import views

app_name = "catalog"
# Administration pages live under "-/": slugify() never produces "-", so no service's page
# can be shadowed by them (a service called "New" has the address /catalogue/new/).
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.service_list, name="list"),
    path("-/new/", views.service_create, name="create"),
    path("-/categories/new/", views.category_create, name="category-create"),
    path("<slug:slug>/", views.service_detail, name="detail"),
    path("<slug:slug>/edit/", views.service_edit, name="edit"),
    path("<slug:slug>/dependencies/", views.dependencies, name="dependencies"),
    path(
        "<slug:slug>/dependencies/<int:dependency_id>/remove/",
        views.dependency_remove,
        name="dependency-remove",
    ),
    path("<slug:slug>/items/new/", views.item_create, name="item-create"),
    path("<slug:slug>/items/<int:item_id>/edit/", views.item_edit, name="item-edit"),
    path("<slug:slug>/items/<int:item_id>/delete/", views.item_delete, name="item-delete"),
]
