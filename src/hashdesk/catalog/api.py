"""Catalogue endpoints: services, the dependency graph, configuration items, categories.

Reads go through ``core.visibility`` (a service a person may not see is a 404, never a 403, so its
existence does not leak); writes call ``catalog.actions``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog import actions
from hashdesk.catalog.graph import affected_service_ids
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory
from hashdesk.catalog.schemas import (
    AffectedOut,
    CategoryPage,
    ConfigurationItemCreate,
    ConfigurationItemFilters,
    ConfigurationItemOut,
    ConfigurationItemPage,
    ConfigurationItemUpdate,
    DependencyCreate,
    DependencyOut,
    ServiceCreate,
    ServiceDetailOut,
    ServiceFilters,
    ServicePage,
    ServiceUpdate,
)
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to

router = Router(tags=["catalogue"])

SERVICE_ORDER = Keyset(("name", "id"))
CONFIGURATION_ITEM_ORDER = Keyset(("name", "id"))
CATEGORY_ORDER = Keyset(("position", "name", "id"))


# --- Lookups (all through visibility) ----------------------------------------------------------


def visible_services(user: User) -> QuerySet[Service]:
    return visible_to(user, Service.objects.select_related("category", "owner_team"))


def service_for(user: User, slug: str) -> Service:
    service = visible_services(user).filter(slug=slug).first()
    if service is None:
        raise NotFound("No such service.")
    return service


def service_detail_for(user: User, slug: str) -> Service:
    """A service with its visible neighbours prefetched: four queries whatever the graph size."""
    neighbours = visible_to(user, Service.objects.all()).order_by("name")
    service = (
        visible_services(user)
        .prefetch_related(
            Prefetch("depends_on", queryset=neighbours, to_attr="visible_depends_on"),
            Prefetch("dependents", queryset=neighbours, to_attr="visible_dependents"),
            Prefetch(
                "configuration_items",
                queryset=visible_to(user, ConfigurationItem.objects.order_by("name")),
                to_attr="visible_configuration_items",
            ),
        )
        .filter(slug=slug)
        .first()
    )
    if service is None:
        raise NotFound("No such service.")
    return service


def _named_service(user: User, slug: str, *, field: str) -> Service:
    """A service named in a request body: unknown and invisible read the same."""
    service = visible_to(user, Service.objects.all()).filter(slug=slug).first()
    if service is None:
        raise ValidationFailed(f"There is no service {slug!r}.", field=field)
    return service


def _category(slug: str | None) -> ServiceCategory | None:
    if slug is None:
        return None
    category = ServiceCategory.objects.filter(slug=slug).first()
    if category is None:
        raise ValidationFailed(f"There is no category {slug!r}.", field="category")
    return category


def _team(user: User, slug: str | None) -> Team | None:
    if slug is None:
        return None
    team = visible_to(user, Team.objects.all()).filter(slug=slug).first()
    if team is None:
        raise ValidationFailed(f"There is no team {slug!r}.", field="owner_team")
    return team


def configuration_item_for(user: User, item_id: int) -> ConfigurationItem:
    item = (
        visible_to(user, ConfigurationItem.objects.select_related("service"))
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound("No such configuration item.")
    return item


# --- Services -----------------------------------------------------------------------------------


@router.get("services", response=with_errors({200: ServicePage}, READ_ERRORS))
def list_services(
    request: HttpRequest, response: HttpResponse, filters: Query[ServiceFilters]
) -> dict[str, Any]:
    """Services you may see, by name."""
    services = visible_services(acting_user(request))
    if filters.category is not None:
        services = services.filter(category__slug=filters.category)
    if filters.criticality is not None:
        services = services.filter(criticality=filters.criticality)
    if filters.is_active is not None:
        services = services.filter(is_active=filters.is_active)
    if filters.q:
        text = filters.q.strip()
        services = services.filter(
            Q(name__icontains=text)
            | Q(hashtag__icontains=text.lstrip("#"))
            | Q(description__icontains=text)
        )
    return paginate(request, response, services, SERVICE_ORDER, filters)


@router.post("services", response=with_errors({201: ServiceDetailOut}, WRITE_ERRORS))
def create_service(request: HttpRequest, payload: ServiceCreate) -> Status[Service]:
    """Add a service to the catalogue (administrators)."""
    user = acting_user(request)
    service = actions.do_create_service(
        user,
        name=payload.name,
        hashtag=payload.hashtag,
        slug=payload.slug,
        description=payload.description,
        category=_category(payload.category),
        owner_team=_team(user, payload.owner_team),
        criticality=payload.criticality,
        visibility=payload.visibility,
    )
    return Status(201, service_detail_for(user, service.slug))


@router.get("services/{slug}", response=with_errors({200: ServiceDetailOut}, READ_ERRORS))
def get_service(request: HttpRequest, slug: str) -> Service:
    """A service with what it depends on, what depends on it and its configuration items."""
    return service_detail_for(acting_user(request), slug)


@router.patch("services/{slug}", response=with_errors({200: ServiceDetailOut}, WRITE_ERRORS))
def update_service(request: HttpRequest, slug: str, payload: ServiceUpdate) -> Service:
    """Change the fields sent (administrators)."""
    user = acting_user(request)
    service = service_for(user, slug)
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    if "category" in changes:
        changes["category"] = _category(changes["category"])
    if "owner_team" in changes:
        changes["owner_team"] = _team(user, changes["owner_team"])
    service = actions.do_update_service(user, service, **changes)
    return service_detail_for(user, service.slug)


@router.get("services/{slug}/affected", response=with_errors({200: AffectedOut}, READ_ERRORS))
def affected_by_service(request: HttpRequest, slug: str) -> dict[str, Any]:
    """Every service that depends on this one, directly or transitively, that you may see."""
    user = acting_user(request)
    service = service_for(user, slug)
    ids = affected_service_ids([service.pk])
    visible = visible_to(user, Service.objects.all()).in_bulk(ids)
    return {"service": service, "affected": [visible[i] for i in ids if i in visible]}


@router.post(
    "services/{slug}/dependencies",
    response=with_errors({201: DependencyOut}, WRITE_ERRORS),
)
def add_dependency(request: HttpRequest, slug: str, payload: DependencyCreate) -> Status[Any]:
    """Record that this service depends on another; a cycle is refused with its path."""
    user = acting_user(request)
    service = service_for(user, slug)
    upstream = _named_service(user, payload.depends_on, field="depends_on")
    dependency = actions.do_add_dependency(user, service, upstream, note=payload.note)
    return Status(201, {"service": service, "depends_on": upstream, "note": dependency.note})


@router.delete(
    "services/{slug}/dependencies/{dep_slug}",
    response=with_errors({204: None}, WRITE_ERRORS),
)
def remove_dependency(request: HttpRequest, slug: str, dep_slug: str) -> Status[None]:
    """Forget that this service depends on ``dep_slug``."""
    user = acting_user(request)
    service = service_for(user, slug)
    upstream = service_for(user, dep_slug)
    actions.do_remove_dependency(user, service, upstream)
    return Status(204, None)


# --- Categories ---------------------------------------------------------------------------------


@router.get("categories", response=with_errors({200: CategoryPage}, READ_ERRORS))
def list_categories(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict[str, Any]:
    """Service categories in display order."""
    categories = visible_to(acting_user(request), ServiceCategory.objects.all())
    return paginate(request, response, categories, CATEGORY_ORDER, page)


# --- Configuration items ------------------------------------------------------------------------


@router.get("configuration-items", response=with_errors({200: ConfigurationItemPage}, READ_ERRORS))
def list_configuration_items(
    request: HttpRequest, response: HttpResponse, filters: Query[ConfigurationItemFilters]
) -> dict[str, Any]:
    """Configuration items of the services you may see."""
    items = visible_to(acting_user(request), ConfigurationItem.objects.select_related("service"))
    if filters.service is not None:
        items = items.filter(service__slug=filters.service)
    if filters.kind is not None:
        items = items.filter(kind=filters.kind)
    if filters.q:
        text = filters.q.strip()
        items = items.filter(Q(name__icontains=text) | Q(location__icontains=text))
    return paginate(request, response, items, CONFIGURATION_ITEM_ORDER, filters)


@router.post("configuration-items", response=with_errors({201: ConfigurationItemOut}, WRITE_ERRORS))
def create_configuration_item(
    request: HttpRequest, payload: ConfigurationItemCreate
) -> Status[ConfigurationItem]:
    """Add a configuration item to a service (administrators)."""
    user = acting_user(request)
    item = actions.do_create_configuration_item(
        user,
        service=_named_service(user, payload.service, field="service"),
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        location=payload.location,
    )
    return Status(201, configuration_item_for(user, item.pk))


@router.get(
    "configuration-items/{int:item_id}",
    response=with_errors({200: ConfigurationItemOut}, READ_ERRORS),
)
def get_configuration_item(request: HttpRequest, item_id: ObjectId) -> ConfigurationItem:
    """One configuration item of a service you may see."""
    return configuration_item_for(acting_user(request), item_id)


@router.patch(
    "configuration-items/{int:item_id}",
    response=with_errors({200: ConfigurationItemOut}, WRITE_ERRORS),
)
def update_configuration_item(
    request: HttpRequest, item_id: ObjectId, payload: ConfigurationItemUpdate
) -> ConfigurationItem:
    """Change the fields sent (administrators)."""
    user = acting_user(request)
    item = configuration_item_for(user, item_id)
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    if "service" in changes:
        changes["service"] = _named_service(user, changes["service"], field="service")
    actions.do_update_configuration_item(user, item, **changes)
    return configuration_item_for(user, item.pk)


@router.delete("configuration-items/{int:item_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_configuration_item(request: HttpRequest, item_id: ObjectId) -> Status[None]:
    """Remove a configuration item (administrators)."""
    user = acting_user(request)
    actions.do_delete_configuration_item(user, configuration_item_for(user, item_id))
    return Status(204, None)
