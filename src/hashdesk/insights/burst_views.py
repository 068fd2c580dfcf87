"""The probable incidents page (/insights/bursts/, staff): what the burst detector raised, live,
each with the reports an agent may see, its count against the usual one, and Promote / Dismiss
(docs/insights.md, "Bursts").

Reports are read through ``core.visibility`` on their own models (posts, chat messages,
incidents), so a team-only post or a confidential incident never shows to an agent who may not
see it. Writes call ``insights.bursts.promote``; its domain errors become messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from hashdesk.accounts.models import User
from hashdesk.chat.models import Message
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.linking import incident_url
from hashdesk.incidents.models import Incident
from hashdesk.insights.bursts import promote
from hashdesk.insights.choices import ItemKind, ProbableState
from hashdesk.insights.models import ProbableIncident, ProbableReport
from hashdesk.wall.models import Post
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user

OPEN_MAX = 50
DECIDED_MAX = 10
EXCERPT = 200


@dataclass(frozen=True)
class ShownReport:
    kind: str
    text: str
    author: str
    created_at: datetime
    url: str


@dataclass
class Card:
    probable: ProbableIncident
    reports: list[ShownReport] = field(default_factory=list)

    @property
    def people(self) -> int:
        return len({report.author for report in self.reports})


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def visible_reports(user: User, probables: list[ProbableIncident]) -> dict[int, list[ShownReport]]:
    """Each probable incident's reports that ``user`` may see, oldest first: four queries."""
    items = list(
        visible_to(user, ProbableReport.objects.filter(probable__in=probables)).order_by(
            "created_at", "id"
        )
    )
    wanted: dict[str, set[int]] = {}
    for item in items:
        wanted.setdefault(item.kind, set()).add(item.object_id)
    shown: dict[tuple[str, int], ShownReport] = {}
    if wanted.get(ItemKind.POST):
        posts = visible_to(user, Post.objects.filter(pk__in=wanted[ItemKind.POST]))
        for post in posts.select_related("author"):
            shown[(ItemKind.POST, post.pk)] = ShownReport(
                "Post",
                _excerpt(post.body),
                post.author.display_name,
                post.created_at,
                reverse("wall:post", args=[post.pk]),
            )
    if wanted.get(ItemKind.CHAT):
        chats = visible_to(user, Message.objects.filter(pk__in=wanted[ItemKind.CHAT]))
        for message in chats.select_related("author"):
            shown[(ItemKind.CHAT, message.pk)] = ShownReport(
                "Chat",
                _excerpt(message.body),
                message.author.display_name if message.author else "",
                message.created_at,
                reverse("chat:room", args=[message.room_id]),
            )
    if wanted.get(ItemKind.INCIDENT):
        incidents = visible_to(user, Incident.objects.filter(pk__in=wanted[ItemKind.INCIDENT]))
        for incident in incidents.select_related("reporter", "service"):
            shown[(ItemKind.INCIDENT, incident.pk)] = ShownReport(
                f"Incident {incident.number}",
                _excerpt(incident.title),
                incident.reporter.display_name if incident.reporter else "",
                incident.created_at,
                incident_url(incident),
            )
    by_probable: dict[int, list[ShownReport]] = {}
    for item in items:
        report = shown.get((item.kind, item.object_id))
        if report is not None:
            by_probable.setdefault(item.probable_id, []).append(report)
    return by_probable


def _staff(request: HttpRequest) -> User:
    user = current_user(request)
    if not is_staff(user):
        raise PermissionDenied("Probable incidents are for the service desk.")
    return user


@login_required
@require_GET
@live_page
def burst_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    visible = visible_to(user, ProbableIncident.objects.select_related("service"))
    raised = list(
        visible.filter(state=ProbableState.OPEN).order_by("-detected_at", "-id")[:OPEN_MAX]
    )
    decided = list(
        visible.exclude(state=ProbableState.OPEN)
        .select_related("incident", "decided_by")
        .order_by("-decided_at", "-id")[:DECIDED_MAX]
    )
    reports = visible_reports(user, raised)
    cards = [Card(probable, reports.get(probable.pk, [])) for probable in raised]
    context: dict[str, Any] = {"cards": cards, "decided": decided}
    return render(request, "insights/bursts.html", context)


def _probable(user: User, pk: int) -> ProbableIncident:
    probable = visible_to(user, ProbableIncident.objects.all()).filter(pk=pk).first()
    if probable is None:
        raise Http404("No such probable incident.")
    return probable


@login_required
@require_POST
def burst_promote(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    probable = _probable(user, pk)
    try:
        incident = promote.do_promote_probable(user, probable)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect("insights:bursts")
    messages.success(request, f"Promoted to {incident.number}.")
    return redirect(incident_url(incident))


@login_required
@require_POST
def burst_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    probable = _probable(user, pk)
    try:
        promote.do_dismiss_probable(user, probable)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Dismissed: {probable.title}.")
    return redirect("insights:bursts")


urlpatterns = [
    path("bursts/", burst_list, name="bursts"),
    path("bursts/<int:pk>/promote/", burst_promote, name="burst-promote"),
    path("bursts/<int:pk>/dismiss/", burst_dismiss, name="burst-dismiss"),
]
