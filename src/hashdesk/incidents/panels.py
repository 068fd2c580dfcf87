"""Panels other apps add to the incident page, without the incidents app knowing them.

An app registers a :class:`DetailPanel` in its ``AppConfig.ready()``; for each page (and its
live fragment) the panel's ``render(request, incident)`` returns a :class:`Panel` (a template
and its context) or None to show nothing. The page includes the panels in the side column, in
``order``, inside the live region ``panels``, so they refresh with the rest of the page.

A panel decides who sees it and costs at most one query when it shows something, none when it
can tell from the incident and the viewer alone that it shows nothing: the page's query count
stays the same however many entries the incident has (docs/incidents.md, "Pages").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from hashdesk.incidents.models import Incident


@dataclass(frozen=True)
class Panel:
    """What one panel shows: its template, included with ``panel`` set to ``context`` (the
    page's own context, ``request``, ``incident`` and ``csrf_token`` among it, stays in reach)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DetailPanel:
    key: str
    render: Callable[[HttpRequest, Incident], Panel | None]
    order: int = 100


_panels: dict[str, DetailPanel] = {}


def register(panel: DetailPanel) -> DetailPanel:
    """Add (or replace, by key) a panel of the incident page."""
    _panels[panel.key] = panel
    return panel


def panels_for(request: HttpRequest, incident: Incident) -> list[Panel]:
    """The panels this viewer sees on this incident's page, in order."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        content = panel.render(request, incident)
        if content is not None:
            shown.append(content)
    return shown
