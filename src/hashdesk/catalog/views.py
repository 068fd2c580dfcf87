"""Catalogue pages: the list, a service's page with its dependency diagram, and admin editing.

Everything shown goes through hashdesk.core.visibility; every change goes through
hashdesk.catalog.actions. A service the viewer may not see is a 404, never a 403, so its
existence stays private.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.catalog import actions
from hashdesk.catalog.diagram import dependency_diagram
from hashdesk.catalog.forms import (
    CatalogueFilterForm,
    CategoryForm,
    ConfigurationItemForm,
    DependencyForm,
    ServiceForm,
)
from hashdesk.catalog.graph import affected_services, upstream_services
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory, ServiceDependency
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_manage_catalog, visible_to
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]


def catalogue_manager_required(view: View) -> View:
    """Signed in and allowed to manage the catalogue (hashdesk.core.visibility), else 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_catalog(current_user(request)):
            raise PermissionDenied("Only administrators can change the service catalogue.")
        return view(request, *args, **kwargs)

    return wrapper


def _services_for(user: User) -> QuerySet[Service]:
    return visible_to(user, Service.objects.select_related("category", "owner_team"))


def _visible_service(user: User, slug: str) -> Service:
    return get_object_or_404(_services_for(user), slug=slug)


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class CategoryGroup:
    name: str
    slug: str
    services: list[Service] = field(default_factory=list)


def _group_by_category(services: list[Service]) -> list[CategoryGroup]:
    """Services under their categories in category order; uncategorised ones last."""
    groups: dict[int | None, CategoryGroup] = {}
    order: list[tuple[int, str, int | None]] = []
    for service in services:
        key = service.category_id
        if key not in groups:
            category = service.category
            groups[key] = CategoryGroup(
                name=category.name if category else "Other services",
                slug=category.slug if category else "",
            )
            position = category.position if category else 2**31
            order.append((position, groups[key].name, key))
        groups[key].services.append(service)
    return [groups[key] for _position, _name, key in sorted(order, key=lambda t: t[:2])]


def _search(services: QuerySet[Service], text: str) -> QuerySet[Service]:
    """ "#vp" finds services by hashtag prefix; other words search names and descriptions too."""
    text = text.strip()
    if text.startswith("#"):
        tag = text.lstrip("#").strip().lower()
        return services.filter(hashtag__startswith=tag) if tag else services
    if not text:
        return services
    return services.filter(
        Q(name__icontains=text) | Q(hashtag__icontains=text) | Q(description__icontains=text)
    )


@login_required
@require_GET
@live_page
def service_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    filters = CatalogueFilterForm(request.GET or None)
    services = _services_for(user).order_by("name")
    if filters.is_bound and filters.is_valid():
        services = _search(services, filters.cleaned_data["q"])
        if filters.cleaned_data["category"]:
            services = services.filter(category__slug=filters.cleaned_data["category"])
        if filters.cleaned_data["criticality"]:
            services = services.filter(criticality=filters.cleaned_data["criticality"])
    found = list(services)
    return render(
        request,
        "catalog/list.html",
        {
            "filters": filters,
            "groups": _group_by_category(found),
            "count": len(found),
            "can_manage": can_manage_catalog(user),
        },
    )


@login_required
@require_GET
@live_page
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    visible_ids = set(_services_for(user).values_list("pk", flat=True))
    upstream = [s for s in upstream_services(service) if s.pk in visible_ids]
    affected = [s for s in affected_services(service) if s.pk in visible_ids]
    direct_upstream = set(
        ServiceDependency.objects.filter(service=service).values_list("depends_on_id", flat=True)
    )
    direct_affected = set(
        ServiceDependency.objects.filter(depends_on=service).values_list("service_id", flat=True)
    )
    items = visible_to(user, ConfigurationItem.objects.filter(service=service))
    return render(
        request,
        "catalog/detail.html",
        {
            "service": service,
            "items": list(items),
            "upstream": upstream,
            "affected": affected,
            "direct_upstream": direct_upstream,
            "direct_affected": direct_affected,
            "diagram": dependency_diagram(service, upstream=upstream, affected=affected),
            "can_manage": can_manage_catalog(user),
        },
    )


# --- Administration -----------------------------------------------------------------------------


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            service = actions.do_create_service(current_user(request), **form.create_arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{service.name} is in the catalogue.")
            return redirect("catalog:detail", slug=service.slug)
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "service": None},
        status=400 if form.errors else 200,
    )


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    form = ServiceForm(request.POST if request.method == "POST" else None, service=service)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing to save: the service is as it was.")
            return redirect("catalog:detail", slug=service.slug)
        try:
            service = actions.do_update_service(user, service, **changes)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{service.name} is saved.")
            return redirect("catalog:detail", slug=service.slug)
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "service": service},
        status=400 if form.errors else 200,
    )


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def category_create(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            category = actions.do_create_category(
                current_user(request),
                name=form.cleaned_data["name"],
                position=form.cleaned_data["position"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The category {category.name} is created.")
            return redirect("catalog:list")
    return render(
        request,
        "catalog/category_form.html",
        {"form": form, "categories": ServiceCategory.objects.all()},
        status=400 if form.errors else 200,
    )


def _dependencies_page(
    request: HttpRequest, service: Service, form: DependencyForm
) -> HttpResponse:
    links = ServiceDependency.objects.filter(service=service).select_related("depends_on")
    dependents = ServiceDependency.objects.filter(depends_on=service).select_related("service")
    return render(
        request,
        "catalog/dependencies.html",
        {"service": service, "form": form, "links": links, "dependents": dependents},
        status=400 if form.errors else 200,
    )


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def dependencies(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    form = DependencyForm(request.POST if request.method == "POST" else None, service=service)
    if request.method == "POST" and form.is_valid():
        depends_on = form.cleaned_data["depends_on"]
        try:
            actions.do_add_dependency(user, service, depends_on, note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{service.name} now depends on {depends_on.name}.")
            return redirect("catalog:dependencies", slug=service.slug)
    return _dependencies_page(request, service, form)


@catalogue_manager_required
@require_POST
def dependency_remove(request: HttpRequest, slug: str, dependency_id: int) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    link = get_object_or_404(
        ServiceDependency.objects.select_related("depends_on"), pk=dependency_id, service=service
    )
    try:
        actions.do_remove_dependency(user, service, link.depends_on)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{service.name} no longer depends on {link.depends_on.name}.")
    return redirect("catalog:dependencies", slug=service.slug)


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    form = ConfigurationItemForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            item = actions.do_create_configuration_item(
                user, service=service, **form.create_arguments()
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{item.name} is added to {service.name}.")
            return redirect("catalog:detail", slug=service.slug)
    return render(
        request,
        "catalog/item_form.html",
        {"form": form, "service": service, "item": None},
        status=400 if form.errors else 200,
    )


def _item(user: User, service: Service, item_id: int) -> ConfigurationItem:
    items = visible_to(user, ConfigurationItem.objects.filter(service=service))
    return get_object_or_404(items, pk=item_id)


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    item = _item(user, service, item_id)
    form = ConfigurationItemForm(request.POST if request.method == "POST" else None, item=item)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, f"Nothing to save: {item.name} is as it was.")
            return redirect("catalog:detail", slug=service.slug)
        try:
            item = actions.do_update_configuration_item(user, item, **changes)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{item.name} is saved.")
            return redirect("catalog:detail", slug=service.slug)
    return render(
        request,
        "catalog/item_form.html",
        {"form": form, "service": service, "item": item},
        status=400 if form.errors else 200,
    )


@catalogue_manager_required
@require_http_methods(["GET", "POST"])
def item_delete(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    user = current_user(request)
    service = _visible_service(user, slug)
    item = _item(user, service, item_id)
    if request.method == "GET":
        return render(request, "catalog/item_delete.html", {"service": service, "item": item})
    try:
        actions.do_delete_configuration_item(user, item)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{item.name} is removed from {service.name}.")
    return redirect("catalog:detail", slug=service.slug)
