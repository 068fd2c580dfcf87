"""The similar-items panel (docs/insights.md): ``GET /insights/similar/``.

One server-rendered fragment for every place that shows it while someone types (the wall's
composer, the incident form, live-help start, the agent's triage panel); insights/similar.js
asks for it, debounced, and puts it in an ``aria-live="polite"`` region. Each ``context``
decides which kinds are offered and what each item's action is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.similar import TEXT_MAX, SimilarItem, similar_items
from hashdesk.web.requests import current_user

MIN_LENGTH = 3
PANEL_LIMIT = 8


@dataclass(frozen=True)
class Context:
    kinds: tuple[str, ...]
    # Offer "This solved it for me" on known errors and articles (someone about to report).
    solved: bool
    # Offer "Me too" on open incidents.
    me_too: bool


CONTEXTS = {
    "composer": Context((ItemKind.KNOWN_ERROR, ItemKind.ARTICLE), solved=False, me_too=False),
    "incident": Context(
        (ItemKind.KNOWN_ERROR, ItemKind.INCIDENT, ItemKind.ARTICLE, ItemKind.POST),
        solved=True,
        me_too=True,
    ),
    "chat": Context(
        (ItemKind.KNOWN_ERROR, ItemKind.ARTICLE, ItemKind.INCIDENT, ItemKind.POST),
        solved=True,
        me_too=False,
    ),
    "triage": Context(tuple(ItemKind.values), solved=False, me_too=False),
}
HEADINGS: dict[str, str] = {
    ItemKind.KNOWN_ERROR: "Known errors",
    ItemKind.INCIDENT: "Open incidents",
    ItemKind.PROBLEM: "Problems",
    ItemKind.ARTICLE: "Articles",
    ItemKind.POST: "Wall posts",
    ItemKind.CHAT: "Chat messages",
}


@dataclass(frozen=True)
class Group:
    kind: str
    heading: str
    items: list[SimilarItem]


def _service(user: object, raw: str) -> Service | None:
    if not raw.isdigit():
        return None
    return visible_to(user, Service.objects.all()).filter(pk=int(raw)).first()


def _exclude(raw: str) -> list[tuple[str, int]]:
    """``incident:12`` → [("incident", 12)] (the record the panel is shown on)."""
    kind, _, pk = raw.partition(":")
    return [(kind, int(pk))] if kind in ItemKind.values and pk.isdigit() else []


@login_required
@require_GET
@never_cache
def panel(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    text = request.GET.get("text", "")[:TEXT_MAX]
    name = request.GET.get("context", "incident")
    context = CONTEXTS.get(name, CONTEXTS["incident"])
    service = _service(user, request.GET.get("service", ""))
    kinds = context.kinds
    if name == "triage" and not is_staff(user):
        kinds = CONTEXTS["incident"].kinds
    found: list[SimilarItem] = []
    if len(text.strip()) >= MIN_LENGTH:
        if name == "composer":
            from hashdesk.wall.similar import known_fixes

            found = known_fixes(user, text, service)
        else:
            found = similar_items(
                user,
                text,
                service=service,
                kinds=kinds,
                limit=PANEL_LIMIT,
                exclude=_exclude(request.GET.get("exclude", "")),
            )
            # Closed incidents are history, not "is it just me?": only open ones are offered
            # to someone reporting (agents triaging see them all).
            if name != "triage":
                found = [
                    item
                    for item in found
                    if item.kind != ItemKind.INCIDENT
                    or getattr(item.object, "state", "") in _open_states()
                ]
    groups = [
        Group(kind, HEADINGS[kind], [item for item in found if item.kind == kind])
        for kind in kinds
        if any(item.kind == kind for item in found)
    ]
    return render(
        request,
        "insights/similar_panel.html",
        {"groups": groups, "context": context, "context_name": name, "count": len(found)},
    )


def _open_states() -> frozenset[str]:
    from hashdesk.incidents.choices import OPEN_STATES

    return frozenset(str(state) for state in OPEN_STATES)


urlpatterns: list[URLPattern] = [path("similar/", panel, name="similar")]
