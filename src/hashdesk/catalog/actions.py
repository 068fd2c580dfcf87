"""Every change to the service catalogue: services, categories, dependencies, configuration items.

Callers pass the acting person (None for the system: demo loader, migrations of data). Each
``do_*`` validates, writes inside one transaction with its audit row and publishes an event on the
service's streams after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.choices import CIKind, Criticality, Visibility
from hashdesk.catalog.events import ConfigurationItemEvent, ServiceEvent
from hashdesk.catalog.graph import would_create_cycle
from hashdesk.catalog.models import (
    ConfigurationItem,
    Service,
    ServiceCategory,
    ServiceDependency,
)
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.validation import full_clean_or_fail, require_text
from hashdesk.core.visibility import can_manage_catalog

SERVICE_FIELDS = (
    "name",
    "slug",
    "hashtag",
    "description",
    "category",
    "owner_team",
    "criticality",
    "visibility",
    "is_active",
)


def _require_manager(actor: User | None) -> None:
    if actor is not None and not can_manage_catalog(actor):
        raise Forbidden("Only administrators can change the service catalogue.")


def normalise_hashtag(raw: str) -> str:
    """'#VPN ' -> 'vpn'. Validation of the characters happens on the model."""
    return (raw or "").strip().lstrip("#").strip().lower()


def service_streams(service: Service) -> list[str]:
    """Where events about ``service`` go: its own stream plus the audience its visibility allows."""
    audience = {
        Visibility.PUBLIC: streams.PUBLIC,
        Visibility.INTERNAL: streams.MEMBERS,
        Visibility.CONFIDENTIAL: streams.STAFF,
    }[Visibility(service.visibility)]
    return [streams.service(service.pk), audience]


def service_snapshot(service: Service) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "slug": service.slug,
        "hashtag": service.hashtag,
        "description": service.description,
        "category_id": service.category_id,
        "owner_team_id": service.owner_team_id,
        "criticality": service.criticality,
        "visibility": service.visibility,
        "is_active": service.is_active,
    }


def _announce(service: Service, op: str) -> None:
    send_event(
        ServiceEvent(op=op, service=service_snapshot(service)), streams=service_streams(service)
    )


def _check_unique(service: Service) -> None:
    others = Service.objects.exclude(pk=service.pk)
    if others.filter(hashtag=service.hashtag).exists():
        raise Conflict(
            f"The hashtag #{service.hashtag} already belongs to another service.", field="hashtag"
        )
    if others.filter(name__iexact=service.name).exists():
        raise Conflict(f"A service named {service.name} already exists.", field="name")
    if others.filter(slug=service.slug).exists():
        raise Conflict(f"The slug {service.slug} is already used.", field="slug")


@transaction.atomic
def do_create_category(actor: User | None, *, name: str, position: int = 0) -> ServiceCategory:
    _require_manager(actor)
    label = require_text(name, field="name", max_length=100)
    if ServiceCategory.objects.filter(name__iexact=label).exists():
        raise Conflict(f"A category named {label} already exists.", field="name")
    category = ServiceCategory(name=label, slug=slugify(label)[:100], position=position)
    full_clean_or_fail(category)
    category.save()
    trail.record(actor=actor, action="category.create", obj=category, after={"name": label})
    return category


@transaction.atomic
def do_create_service(
    actor: User | None,
    *,
    name: str,
    hashtag: str,
    slug: str = "",
    description: str = "",
    category: ServiceCategory | None = None,
    owner_team: Team | None = None,
    criticality: str = Criticality.MEDIUM,
    visibility: str = Visibility.INTERNAL,
) -> Service:
    _require_manager(actor)
    label = require_text(name, field="name", max_length=100)
    service = Service(
        name=label,
        slug=(slug.strip() or slugify(label))[:100],
        hashtag=normalise_hashtag(hashtag),
        description=(description or "").strip(),
        category=category,
        owner_team=owner_team,
        criticality=criticality,
        visibility=visibility,
    )
    if not service.hashtag:
        raise ValidationFailed("A service needs a hashtag, such as #vpn.", field="hashtag")
    _check_unique(service)
    full_clean_or_fail(service)
    service.save()
    trail.record(actor=actor, action="service.create", obj=service, after=service_snapshot(service))
    _announce(service, "create")
    # Every service has its chat room from the start (docs/chat.md). Imported here: chat
    # builds on the catalogue.
    from hashdesk.chat.actions import service_room

    service_room(service)
    return service


@transaction.atomic
def do_update_service(actor: User | None, service: Service, **changes: Any) -> Service:
    """Change some fields of a service. Unknown fields are refused, nothing is half-applied."""
    _require_manager(actor)
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}.", field=name)
    service = Service.objects.select_for_update().get(pk=service.pk)
    before = service_snapshot(service)
    old_streams = service_streams(service)
    for field, value in changes.items():
        if field == "hashtag":
            value = normalise_hashtag(value)
        elif field in {"name", "slug", "description"}:
            value = (value or "").strip()
        setattr(service, field, value)
    if "name" in changes:
        require_text(service.name, field="name", max_length=100)
    if not service.hashtag:
        raise ValidationFailed("A service needs a hashtag, such as #vpn.", field="hashtag")
    _check_unique(service)
    full_clean_or_fail(service)
    service.updated_at = timezone.now()
    service.save(update_fields=[*changes, "updated_at"])
    after = service_snapshot(service)
    trail.record(actor=actor, action="service.update", obj=service, before=before, after=after)
    # Tell the old audience too, so a service made confidential disappears from their pages.
    send_event(
        ServiceEvent(op="update", service=after),
        streams=sorted(set(old_streams) | set(service_streams(service))),
    )
    return service


@transaction.atomic
def do_add_dependency(
    actor: User | None, service: Service, depends_on: Service, *, note: str = ""
) -> ServiceDependency:
    """Record that ``service`` depends on ``depends_on``; refuse anything that closes a cycle."""
    _require_manager(actor)
    if service.pk == depends_on.pk:
        raise ValidationFailed("A service cannot depend on itself.", field="depends_on")
    if ServiceDependency.objects.filter(service=service, depends_on=depends_on).exists():
        raise Conflict(f"{service} already depends on {depends_on}.", field="depends_on")
    cycle = would_create_cycle(service.pk, depends_on.pk)
    if cycle:
        names = Service.objects.in_bulk(cycle)
        path = " → ".join(names[sid].name for sid in cycle)
        raise ValidationFailed(
            f"{service} cannot depend on {depends_on}: that would make a cycle ({path}).",
            field="depends_on",
            cycle=[names[sid].slug for sid in cycle],
        )
    dependency = ServiceDependency.objects.create(
        service=service,
        depends_on=depends_on,
        note=require_text(note, field="note", max_length=200, allow_blank=True),
    )
    trail.record(
        actor=actor,
        action="service.dependency_add",
        obj=service,
        after={"depends_on": depends_on.slug, "note": dependency.note},
    )
    _announce(service, "dependency_add")
    return dependency


@transaction.atomic
def do_remove_dependency(actor: User | None, service: Service, depends_on: Service) -> None:
    _require_manager(actor)
    deleted, _ = ServiceDependency.objects.filter(service=service, depends_on=depends_on).delete()
    if not deleted:
        raise NotFound(f"{service} does not depend on {depends_on}.")
    trail.record(
        actor=actor,
        action="service.dependency_remove",
        obj=service,
        before={"depends_on": depends_on.slug},
    )
    _announce(service, "dependency_remove")


def configuration_item_snapshot(item: ConfigurationItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "name": item.name,
        "kind": item.kind,
        "service_id": item.service_id,
        "description": item.description,
        "location": item.location,
        "is_active": item.is_active,
    }


@transaction.atomic
def do_create_configuration_item(
    actor: User | None,
    *,
    service: Service,
    name: str,
    kind: str = CIKind.SERVER,
    description: str = "",
    location: str = "",
) -> ConfigurationItem:
    _require_manager(actor)
    label = require_text(name, field="name", max_length=100)
    if ConfigurationItem.objects.filter(name__iexact=label).exists():
        raise Conflict(f"A configuration item named {label} already exists.", field="name")
    item = ConfigurationItem(
        service=service,
        name=label,
        kind=kind,
        description=(description or "").strip(),
        location=(location or "").strip(),
    )
    full_clean_or_fail(item)
    item.save()
    after = configuration_item_snapshot(item)
    trail.record(actor=actor, action="configuration_item.create", obj=item, after=after)
    send_event(
        ConfigurationItemEvent(op="create", configuration_item=after),
        streams=[streams.service(service.pk), streams.STAFF],
    )
    return item


CONFIGURATION_ITEM_FIELDS = ("name", "kind", "service", "description", "location", "is_active")


@transaction.atomic
def do_update_configuration_item(
    actor: User | None, item: ConfigurationItem, **changes: Any
) -> ConfigurationItem:
    _require_manager(actor)
    unknown = set(changes) - set(CONFIGURATION_ITEM_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}.", field=name)
    item = ConfigurationItem.objects.select_for_update().get(pk=item.pk)
    before = configuration_item_snapshot(item)
    for field, value in changes.items():
        setattr(item, field, value.strip() if isinstance(value, str) else value)
    if "name" in changes:
        require_text(item.name, field="name", max_length=100)
        if ConfigurationItem.objects.exclude(pk=item.pk).filter(name__iexact=item.name).exists():
            raise Conflict(f"A configuration item named {item.name} already exists.", field="name")
    full_clean_or_fail(item)
    item.save(update_fields=list(changes))
    after = configuration_item_snapshot(item)
    trail.record(
        actor=actor, action="configuration_item.update", obj=item, before=before, after=after
    )
    send_event(
        ConfigurationItemEvent(op="update", configuration_item=after),
        streams=[streams.service(item.service_id), streams.STAFF],
    )
    return item


@transaction.atomic
def do_delete_configuration_item(actor: User | None, item: ConfigurationItem) -> None:
    _require_manager(actor)
    before = configuration_item_snapshot(item)
    service_id = item.service_id
    item.delete()
    trail.record(
        actor=actor,
        action="configuration_item.delete",
        object_type="catalog.configurationitem",
        object_id=before["id"],
        before=before,
    )
    send_event(
        ConfigurationItemEvent(op="delete", configuration_item=before),
        streams=[streams.service(service_id), streams.STAFF],
    )
