"""The dependency diagram of one service, laid out on the server as layers for an inline SVG.

Columns run left to right: what the service depends on (furthest first), the service, then
what depends on it (nearest first). A node's column comes from the *longest* dependency path
between it and the service, so every edge points strictly rightwards and no edge joins two nodes
of one column. Within a column nodes are ordered by the average row of the nodes they connect
to in the column next to it towards the centre (one barycentre pass), which removes most
crossings on catalogue-sized graphs.

Only services the viewer may see are drawn, and only the edges between two of them; the caller
passes the services already filtered through hashdesk.core.visibility.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from hashdesk.catalog.graph import dependencies_index, dependents_index
from hashdesk.catalog.models import Service, ServiceDependency

NODE_WIDTH = 176
NODE_HEIGHT = 46
COLUMN_GAP = 56
ROW_GAP = 14
PADDING = 16
HEADING_HEIGHT = 30
NAME_CHARS = 24
# A diagram up to this wide may shrink to fit the page (to about three quarters of its size at
# the widest layout); a wider one keeps its size and scrolls sideways in its frame.
FIT_WIDTH = 1500


@dataclass
class DiagramNode:
    service: Service
    column: int
    row: int = 0
    x: int = 0
    y: int = 0
    current: bool = False

    @property
    def label(self) -> str:
        name = self.service.name
        return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"

    @property
    def text_x(self) -> int:
        return self.x + 14

    @property
    def name_y(self) -> int:
        return self.y + 19

    @property
    def tag_y(self) -> int:
        return self.y + 36


@dataclass
class DiagramEdge:
    source: DiagramNode  # the service depended on (left)
    target: DiagramNode  # the dependent service (right)

    @property
    def path(self) -> str:
        """A horizontal S-curve from the right edge of source to the left edge of target."""
        x1 = self.source.x + NODE_WIDTH
        y1 = self.source.y + NODE_HEIGHT // 2
        x2 = self.target.x - 6  # leave room for the arrowhead
        y2 = self.target.y + NODE_HEIGHT // 2
        bend = max(24, (x2 - x1) // 2)
        return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


@dataclass
class DiagramHeading:
    """A label over a group of columns: what the service needs, the service, what needs it."""

    centre: int
    text: str


@dataclass
class Diagram:
    nodes: list[DiagramNode] = field(default_factory=list)
    edges: list[DiagramEdge] = field(default_factory=list)
    headings: list[DiagramHeading] = field(default_factory=list)
    width: int = 0
    height: int = 0

    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT

    @property
    def is_trivial(self) -> bool:
        return len(self.nodes) <= 1

    @property
    def scales_to_fit(self) -> bool:
        return self.width <= FIT_WIDTH


def _longest_paths(start: int, index: dict[int, list[int]], members: set[int]) -> dict[int, int]:
    """Longest number of hops from ``start`` to each member, following ``index`` (a DAG)."""

    @cache
    def depth_from(node: int) -> dict[int, int]:
        # Longest distance from ``node`` to every member reachable from it.
        result: dict[int, int] = {}
        for nxt in index.get(node, ()):
            if nxt not in members:
                continue
            result[nxt] = max(result.get(nxt, 0), 1)
            for far, hops in depth_from(nxt).items():
                result[far] = max(result.get(far, 0), hops + 1)
        return result

    return depth_from(start)


def _headings(column_x: dict[int, int]) -> list[DiagramHeading]:
    groups = [
        ([c for c in column_x if c < 0], "Depends on"),
        ([0], "This service"),
        ([c for c in column_x if c > 0], "Affected if it fails"),
    ]
    headings = []
    for columns, text in groups:
        if columns:
            left = column_x[min(columns)]
            right = column_x[max(columns)] + NODE_WIDTH
            headings.append(DiagramHeading(centre=(left + right) // 2, text=text))
    return headings


def dependency_diagram(
    service: Service, *, upstream: Iterable[Service], affected: Iterable[Service]
) -> Diagram:
    """Lay out ``service`` with the (already visibility-filtered) ``upstream`` and ``affected``."""
    upstream = list(upstream)
    affected = list(affected)
    by_id = {s.pk: s for s in [service, *upstream, *affected]}
    edges = [
        (s, d)
        for s, d in ServiceDependency.objects.values_list("service_id", "depends_on_id")
        if s in by_id and d in by_id
    ]
    up_ids = {s.pk for s in upstream}
    down_ids = {s.pk for s in affected}
    up_depth = _longest_paths(service.pk, dependencies_index(edges), up_ids)
    down_depth = _longest_paths(service.pk, dependents_index(edges), down_ids)

    raw_column = {service.pk: 0}
    for sid in up_ids:
        # Reached only through services the viewer may not see: place it next to the service.
        raw_column[sid] = -up_depth.get(sid, 1)
    for sid in down_ids:
        raw_column[sid] = down_depth.get(sid, 1)
    # Close the gaps left by hidden services so columns are consecutive.
    ordered = sorted(set(raw_column.values()))
    centre = ordered.index(0)
    compact = {value: position - centre for position, value in enumerate(ordered)}

    nodes = {
        sid: DiagramNode(service=by_id[sid], column=compact[col], current=sid == service.pk)
        for sid, col in raw_column.items()
    }
    columns: dict[int, list[DiagramNode]] = defaultdict(list)
    for node in nodes.values():
        columns[node.column].append(node)

    neighbours: dict[int, set[int]] = defaultdict(set)
    for s, d in edges:
        neighbours[s].add(d)
        neighbours[d].add(s)

    # Order each column outwards from the centre by the barycentre of its inner neighbours.
    for direction in (-1, 1):
        column = direction
        while column in columns:
            inner = {n.service.pk: n.row for n in columns[column - direction]}

            def weight(node: DiagramNode, inner: dict[int, int] = inner) -> tuple[float, str]:
                rows = [inner[n] for n in neighbours[node.service.pk] if n in inner]
                return (sum(rows) / len(rows) if rows else float("inf"), node.service.name)

            columns[column].sort(key=weight)
            for row, node in enumerate(columns[column]):
                node.row = row
            column += direction

    tallest = max(len(members) for members in columns.values())
    height = PADDING * 2 + HEADING_HEIGHT + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    first = min(columns)
    diagram = Diagram(height=height)
    column_x = {c: PADDING + (c - first) * (NODE_WIDTH + COLUMN_GAP) for c in columns}
    diagram.headings = _headings(column_x)
    for column in sorted(columns):
        x = column_x[column]
        members = columns[column]
        block = len(members) * NODE_HEIGHT + (len(members) - 1) * ROW_GAP
        top = PADDING + HEADING_HEIGHT + (tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP - block) // 2
        for node in members:
            node.x = x
            node.y = top + node.row * (NODE_HEIGHT + ROW_GAP)
            diagram.nodes.append(node)
    diagram.width = PADDING * 2 + len(columns) * NODE_WIDTH + (len(columns) - 1) * COLUMN_GAP
    diagram.edges = [DiagramEdge(source=nodes[d], target=nodes[s]) for s, d in sorted(edges)]
    return diagram
