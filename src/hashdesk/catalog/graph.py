"""The service dependency graph: who is affected when a service fails, and cycle checks.

The whole edge list is read in one query and walked in memory: a catalogue has hundreds of
services and edges, so this is cheaper than one query per level and stays correct for any depth.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from hashdesk.catalog.models import Service, ServiceDependency


def _edges() -> list[tuple[int, int]]:
    """(service_id, depends_on_id) pairs."""
    return list(ServiceDependency.objects.values_list("service_id", "depends_on_id"))


def _walk(start: Iterable[int], neighbours: dict[int, list[int]]) -> list[int]:
    seen: set[int] = set()
    order: list[int] = []
    queue = deque(start)
    while queue:
        node = queue.popleft()
        for nxt in neighbours.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
                queue.append(nxt)
    return order


def dependents_index(edges: list[tuple[int, int]]) -> dict[int, list[int]]:
    index: dict[int, list[int]] = defaultdict(list)
    for service_id, depends_on_id in edges:
        index[depends_on_id].append(service_id)
    return index


def dependencies_index(edges: list[tuple[int, int]]) -> dict[int, list[int]]:
    index: dict[int, list[int]] = defaultdict(list)
    for service_id, depends_on_id in edges:
        index[service_id].append(depends_on_id)
    return index


def affected_service_ids(service_ids: Iterable[int]) -> list[int]:
    """Ids of every service that depends, directly or transitively, on any of ``service_ids``."""
    start = list(service_ids)
    found = _walk(start, dependents_index(_edges()))
    return [sid for sid in found if sid not in set(start)]


def affected_services(service: Service) -> list[Service]:
    """All transitive dependents of ``service`` (not itself), nearest first, then by name."""
    ids = affected_service_ids([service.pk])
    by_id = Service.objects.in_bulk(ids)
    return [by_id[sid] for sid in ids if sid in by_id]


def upstream_services(service: Service) -> list[Service]:
    """Everything ``service`` depends on, directly or transitively."""
    ids = _walk([service.pk], dependencies_index(_edges()))
    by_id = Service.objects.in_bulk(ids)
    return [by_id[sid] for sid in ids if sid in by_id]


def would_create_cycle(service_id: int, depends_on_id: int) -> list[int] | None:
    """If adding "service depends on depends_on" closes a cycle, the cycle's path; else None.

    A cycle appears exactly when ``depends_on`` already depends (transitively) on ``service``.
    """
    if service_id == depends_on_id:
        return [service_id, service_id]
    index = dependencies_index(_edges())
    # Breadth-first from depends_on along "depends on" edges, remembering parents for the path.
    parents: dict[int, int] = {}
    queue = deque([depends_on_id])
    seen = {depends_on_id}
    while queue:
        node = queue.popleft()
        for nxt in index.get(node, ()):
            if nxt in seen:
                continue
            parents[nxt] = node
            if nxt == service_id:
                path = [service_id]
                while path[-1] != depends_on_id:
                    path.append(parents[path[-1]])
                path.reverse()
                return [service_id, *path]
            seen.add(nxt)
            queue.append(nxt)
    return None
