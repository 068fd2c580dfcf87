"""What state each service is in, as the status page shows it (docs/status.md, "States").

:func:`derive_states` is a pure function over plain rows: the services a tier may see, the whole
dependency graph (as id pairs), the open incidents the tier may see and the services under
maintenance. The loader (:mod:`hashdesk.status.snapshot`) reads those rows in a constant number
of queries. Nothing here touches the database.

- An open incident gives its service a state: a major incident or P1 → major outage, P2 →
  partial outage, P3 → degraded; P4 and P5 leave the service operational.
- A change being implemented on a service → maintenance. Any incident-derived state outranks
  maintenance (the unplanned is what people need to hear about first).
- A service whose dependency (directly or transitively) is in partial or major outage of its
  *own* is at least degraded, with the reason "Depends on Single sign-on (major outage)".
  Maintenance upstream adds a note ("Single sign-on maintenance") and changes no state.
- A reason never names a service the tier may not see: it reads "A service it depends on has a
  major outage" instead. Cycles in the graph are walked once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models


class ServiceState(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    MAINTENANCE = "maintenance", "Maintenance"
    DEGRADED = "degraded", "Degraded"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"


# Worse is higher. An incident's state outranks maintenance.
RANK = {
    ServiceState.OPERATIONAL: 0,
    ServiceState.MAINTENANCE: 1,
    ServiceState.DEGRADED: 2,
    ServiceState.PARTIAL_OUTAGE: 3,
    ServiceState.MAJOR_OUTAGE: 4,
}

# The page's headline for the worst state of the services shown.
HEADLINE = {
    ServiceState.OPERATIONAL: "All systems operational",
    ServiceState.MAINTENANCE: "Maintenance in progress",
    ServiceState.DEGRADED: "Degraded service",
    ServiceState.PARTIAL_OUTAGE: "Partial outage",
    ServiceState.MAJOR_OUTAGE: "Major outage",
}

OUTAGES = frozenset({ServiceState.PARTIAL_OUTAGE, ServiceState.MAJOR_OUTAGE})


def label(state: str) -> str:
    return str(ServiceState(state).label)


def worst(states: Iterable[str]) -> ServiceState:
    result = ServiceState.OPERATIONAL
    for state in states:
        candidate = ServiceState(state)
        if RANK[candidate] > RANK[result]:
            result = candidate
    return result


def incident_state(priority: int, is_major: bool) -> ServiceState:
    """The state an open incident gives its service."""
    if is_major or priority <= 1:
        return ServiceState.MAJOR_OUTAGE
    if priority == 2:
        return ServiceState.PARTIAL_OUTAGE
    if priority == 3:
        return ServiceState.DEGRADED
    return ServiceState.OPERATIONAL


@dataclass(frozen=True)
class OpenIncident:
    service_id: int
    priority: int
    is_major: bool


@dataclass
class DerivedState:
    """A visible service's state: its own, the one shown, and why."""

    own: ServiceState
    state: ServiceState
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _upstream(service_id: int, depends_on: Mapping[int, list[int]]) -> list[int]:
    """Every service ``service_id`` depends on, transitively, each once (cycles end the walk)."""
    seen = {service_id}
    order: list[int] = []
    stack = list(reversed(depends_on.get(service_id, [])))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        order.append(current)
        stack.extend(reversed(depends_on.get(current, [])))
    return order


def derive_states(
    *,
    names: Mapping[int, str],
    dependencies: Iterable[tuple[int, int]],
    incidents: Iterable[OpenIncident],
    maintenance: Iterable[int],
) -> dict[int, DerivedState]:
    """States of the services in ``names`` (the ones the tier may see, id → name).

    ``dependencies`` are ``(service_id, depends_on_id)`` pairs of the whole graph, hidden
    services included, so that an outage behind a hidden service still shows downstream.
    ``incidents`` are the open incidents the tier may see; ``maintenance`` the ids of services a
    change is being implemented on.
    """
    own: dict[int, ServiceState] = defaultdict(lambda: ServiceState.OPERATIONAL)
    for incident in incidents:
        state = incident_state(incident.priority, incident.is_major)
        if RANK[state] > RANK[own[incident.service_id]]:
            own[incident.service_id] = state
    for service_id in maintenance:
        if own[service_id] == ServiceState.OPERATIONAL:
            own[service_id] = ServiceState.MAINTENANCE
    depends_on: dict[int, list[int]] = defaultdict(list)
    for service_id, upstream_id in sorted(set(dependencies)):
        depends_on[service_id].append(upstream_id)

    result: dict[int, DerivedState] = {}
    for service_id in names:
        mine = own[service_id]
        derived = DerivedState(own=mine, state=mine)
        hidden_outage: ServiceState | None = None
        hidden_maintenance = False
        for upstream_id in _upstream(service_id, depends_on):
            theirs = own[upstream_id]
            shown = upstream_id in names
            if theirs in OUTAGES:
                if RANK[derived.state] < RANK[ServiceState.DEGRADED]:
                    derived.state = ServiceState.DEGRADED
                if shown:
                    derived.reasons.append(
                        f"Depends on {names[upstream_id]} ({label(theirs).lower()})"
                    )
                elif hidden_outage is None or RANK[theirs] > RANK[hidden_outage]:
                    hidden_outage = theirs
            elif theirs == ServiceState.MAINTENANCE:
                if shown:
                    derived.notes.append(f"{names[upstream_id]} maintenance")
                else:
                    hidden_maintenance = True
        if hidden_outage is not None:
            derived.reasons.append(f"A service it depends on has a {label(hidden_outage).lower()}")
        if hidden_maintenance:
            derived.notes.append("Maintenance on a service it depends on")
        result[service_id] = derived
    return result
