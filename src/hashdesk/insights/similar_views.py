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
# Suggestions "This solved it for me" is offered on (insights.deflection records it).
SOLVED_KINDS = (ItemKind.KNOWN_ERROR, ItemKind.ARTICLE, ItemKind.POST)
FIX_KINDS = frozenset({ItemKind.KNOWN_ERROR, ItemKind.ARTICLE})
FIXES_LIMIT = 4


@dataclass(frozen=True)
class Context:
    kinds: tuple[str, ...]
    # Offer "This solved it for me" on known errors and articles (someone about to report).
    solved: bool
    # Offer "Me too" on open incidents.
    me_too: bool


CONTEXTS = {
    "composer": Context((ItemKind.KNOWN_ERROR, ItemKind.ARTICLE), solved=True, me_too=False),
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


def service_from(user: object, raw: str) -> Service | None:
    """A service by id, or by slug (what the incident form's service <select> holds)."""
    raw = raw.strip()
    if not raw:
        return None
    services = visible_to(user, Service.objects.all())
    return (services.filter(pk=int(raw)) if raw.isdigit() else services.filter(slug=raw)).first()


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
    service = service_from(user, request.GET.get("service", ""))
    kinds = context.kinds
    if name == "triage" and not is_staff(user):
        kinds = CONTEXTS["incident"].kinds
    found: list[SimilarItem] = []
    if len(text.strip()) >= MIN_LENGTH:
        if name == "composer":
            from hashdesk.wall.similar import known_fixes

            found = known_fixes(user, text, service)
        else:
            exclude = _exclude(request.GET.get("exclude", ""))
            # Someone about to report: known errors and articles are asked for on their own
            # first, so that many incidents they may not see can never crowd the fixes out.
            fixes = (
                [k for k in kinds if k in FIX_KINDS] if name != "triage" and context.solved else []
            )
            rest = [k for k in kinds if k not in fixes]
            if fixes:
                found = similar_items(
                    user, text, service=service, kinds=fixes, limit=FIXES_LIMIT, exclude=exclude
                )
            if rest:
                found += similar_items(
                    user, text, service=service, kinds=rest, limit=PANEL_LIMIT, exclude=exclude
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
    if found and context.solved:
        # Sessions with suggestions, for the deflection rate (once per typing session).
        from hashdesk.insights.deflection import count_impressions

        count_impressions(user, name, service, [(item.kind, item.object.pk) for item in found])
    groups = [
        Group(kind, HEADINGS[kind], [item for item in found if item.kind == kind])
        for kind in kinds
        if any(item.kind == kind for item in found)
    ]
    return render(
        request,
        "insights/similar_panel.html",
        {
            "groups": groups,
            "context": context,
            "context_name": name,
            "count": len(found),
            "solved_kinds": SOLVED_KINDS,
            "service": service,
        },
    )


def _open_states() -> frozenset[str]:
    from hashdesk.incidents.choices import OPEN_STATES

    return frozenset(str(state) for state in OPEN_STATES)


urlpatterns: list[URLPattern] = [path("similar/", panel, name="similar")]
