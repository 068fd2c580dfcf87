"""Visibility rules for the catalogue (registered with hashdesk.core.visibility)."""

from django.db.models import Q

from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory
from hashdesk.core import visibility


@visibility.register(Service)
def services_visible(user: visibility.Viewer) -> Q:
    return Q(visibility__in=visibility.visibility_levels(user))


@visibility.register(ConfigurationItem)
def configuration_items_visible(user: visibility.Viewer) -> Q:
    # Configuration items are infrastructure detail: signed-in people see those of the services
    # they may see; anonymous visitors see none.
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(service__visibility__in=visibility.visibility_levels(user))


@visibility.register(ServiceCategory)
def categories_visible(user: visibility.Viewer) -> Q:
    # Category names are headings of the public catalogue and status page: no secret in them.
    return Q()
