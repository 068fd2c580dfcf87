"""The three audiences of the status page and what each may hear of (docs/status.md, "Tiers").

The page is computed once per tier, not per person, so it can be cached and pushed live:

- ``public``  — anonymous visitors: public services, public incidents, and changes that touch
  public services only.
- ``members`` — every signed-in person: public and internal services; public incidents; changes
  past planning whose services they may all see.
- ``staff``   — service desk staff: everything.

The tier key is ``core.visibility.visibility_levels(user)``. The filters below agree with
``core.visibility.visible_to`` (tests/status/test_tiers.py compares them over a matrix of
records): services exactly; incidents and changes as ``visible_to`` answers for a signed-in
person the record does not involve (involvement is personal, the page is not), further limited
to public services for anonymous visitors, who ``visible_to`` shows no incident record at all —
the status page is where public incidents are announced to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q

from hashdesk.catalog.choices import Visibility
from hashdesk.core import streams
from hashdesk.core.visibility import visibility_levels


@dataclass(frozen=True)
class Tier:
    key: str
    levels: tuple[str, ...]
    # The event stream every connection of this tier listens to.
    stream: str

    @property
    def is_staff(self) -> bool:
        return Visibility.CONFIDENTIAL in self.levels


PUBLIC = Tier("public", (Visibility.PUBLIC,), streams.PUBLIC)
MEMBERS = Tier("members", (Visibility.PUBLIC, Visibility.INTERNAL), streams.MEMBERS)
STAFF = Tier(
    "staff", (Visibility.PUBLIC, Visibility.INTERNAL, Visibility.CONFIDENTIAL), streams.STAFF
)
TIERS = (PUBLIC, MEMBERS, STAFF)


def tier_for(user: Any) -> Tier:
    levels = tuple(visibility_levels(user))
    for tier in TIERS:
        if tier.levels == levels:
            return tier
    return PUBLIC


def service_filter(tier: Tier) -> Q:
    """Active services the tier may see."""
    return Q(is_active=True, visibility__in=tier.levels)


def incident_filter(tier: Tier) -> Q:
    """Incidents whose state the tier hears of (on any service: an outage behind a hidden
    service still shows downstream, without naming it)."""
    if tier.is_staff:
        return Q()
    return Q(visibility=Visibility.PUBLIC)


def listed_incident_filter(tier: Tier) -> Q:
    """Incidents the tier may read: the above, on services it may see."""
    return incident_filter(tier) & Q(service__visibility__in=tier.levels)


def change_filter(tier: Tier) -> Q:
    """Changes the tier may read: past planning (the states the page asks for are) and touching
    no service hidden from it."""
    if tier.is_staff:
        return Q()
    from hashdesk.changes.models import AffectedService

    hidden = AffectedService.objects.filter(change=OuterRef("pk")).exclude(
        service__visibility__in=tier.levels
    )
    return ~Q(Exists(hidden))
