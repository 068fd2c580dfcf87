"""RSS and Atom feeds of the status page, overall and per service (docs/status.md, "Feeds").

Feed readers send no cookies, so a feed is always what an anonymous visitor may see: public
incidents that change a public service's state (opened, each public or official update,
resolved) and maintenance of changes that touch public services only. Newest 50 items; each has
a guid that never changes (``…/status/#INC-000042/opened``, ``…/update/<id>``,
``…/resolved``, ``…/status/#CHG-000007/<sequence>`` — a moved change is a new item).
Feeds obey ``STATUS_PAGE_PUBLIC``: when it is off they answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from hashdesk.status import tiers
from hashdesk.status.states import incident_state, label

FEED_ITEMS = 50


@dataclass(frozen=True)
class FeedItem:
    title: str
    description: str
    link: str
    guid: str
    published: datetime
    updated: datetime


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def feed_items(service_id: int | None = None) -> list[FeedItem]:
    """The newest items, as an anonymous visitor may see them. Three queries."""
    from hashdesk.changes.choices import ChangeState
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.incidents.choices import TimelineKind
    from hashdesk.incidents.models import Incident, TimelineEntry

    tier = tiers.PUBLIC
    incidents = Incident.objects.filter(tiers.listed_incident_filter(tier)).filter(
        Q(is_major=True) | Q(priority__lte=3), merged_into__isnull=True, service__is_active=True
    )
    if service_id is not None:
        incidents = incidents.filter(service_id=service_id)
    rows = list(
        incidents.order_by("-updated_at", "-id").values(
            "id",
            "number",
            "title",
            "priority",
            "is_major",
            "created_at",
            "resolved_at",
            "description",
            "service__name",
            "service__slug",
        )[:FEED_ITEMS]
    )
    items: list[FeedItem] = []
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        state = incident_state(row["priority"], row["is_major"])
        page = reverse("status:service", args=[row["service__slug"]])
        link = _absolute(f"{page}#{row['number']}")
        head = f"{row['number']} {row['service__name']}: {row['title']}"
        items.append(
            FeedItem(
                title=f"{head} — {label(state)}",
                description=f"{row['service__name']}: {label(state).lower()}.",
                link=link,
                guid=f"{link}/opened",
                published=row["created_at"],
                updated=row["created_at"],
            )
        )
        if row["resolved_at"] is not None:
            items.append(
                FeedItem(
                    title=f"{head} — Resolved",
                    description=f"{row['service__name']} is operational again.",
                    link=link,
                    guid=f"{link}/resolved",
                    published=row["resolved_at"],
                    updated=row["resolved_at"],
                )
            )
    if by_id:
        entries = (
            TimelineEntry.objects.filter(
                incident_id__in=list(by_id),
                kind__in=[TimelineKind.PUBLIC_UPDATE, TimelineKind.OFFICIAL_UPDATE],
                is_public=True,
            )
            .order_by("-created_at", "-id")
            .values_list("id", "incident_id", "kind", "body_html", "created_at")[:FEED_ITEMS]
        )
        for entry_id, incident_id, kind, body_html, created_at in entries:
            row = by_id[incident_id]
            page = reverse("status:service", args=[row["service__slug"]])
            link = _absolute(f"{page}#{row['number']}")
            word = "Official update" if kind == TimelineKind.OFFICIAL_UPDATE else "Update"
            items.append(
                FeedItem(
                    title=f"{row['number']} {row['service__name']}: {row['title']} — {word}",
                    description=body_html,
                    link=link,
                    guid=f"{link}/update/{entry_id}",
                    published=created_at,
                    updated=created_at,
                )
            )

    changes = Change.objects.filter(tiers.change_filter(tier)).filter(
        state__in=[ChangeState.SCHEDULED, ChangeState.IMPLEMENTING],
        planned_start__isnull=False,
        planned_end__gt=timezone.now(),
    )
    if service_id is not None:
        changes = changes.filter(
            pk__in=AffectedService.objects.filter(service_id=service_id).values("change_id")
        )
    for change in changes.order_by("-updated_at", "-id").values(
        "number", "summary", "planned_start", "planned_end", "sequence", "updated_at", "state"
    )[:FEED_ITEMS]:
        link = _absolute(f"{reverse('status:page')}#{change['number']}")
        start, end = change["planned_start"], change["planned_end"]
        window = f"{start:%d %b %Y %H:%M} to {end:%d %b %Y %H:%M} UTC"
        items.append(
            FeedItem(
                title=f"{change['number']} Maintenance: {change['summary']}",
                description=f"Planned maintenance, {window}.",
                link=link,
                guid=f"{link}/{change['sequence']}",
                published=change["updated_at"],
                updated=change["updated_at"],
            )
        )
    items.sort(key=lambda item: (item.published, item.guid), reverse=True)
    return items[:FEED_ITEMS]


class StatusFeed(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    description_template = None

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.STATUS_PAGE_PUBLIC:
            raise Http404("The status page is for signed-in people only.")
        response = super().__call__(request, *args, **kwargs)
        response["Cache-Control"] = "public, max-age=60"
        return response

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return None

    def title(self, obj: Any) -> str:
        return "Hashdesk status"

    def link(self, obj: Any) -> str:
        return reverse("status:page")

    def description(self, obj: Any) -> str:
        return "Incidents and maintenance of the services on the Hashdesk status page."

    def items(self, obj: Any) -> list[FeedItem]:
        return feed_items()

    def item_title(self, item: FeedItem) -> str:
        return item.title

    def item_description(self, item: FeedItem) -> str:
        return item.description

    def item_link(self, item: FeedItem) -> str:
        return item.link

    def item_guid(self, item: FeedItem) -> str:
        return item.guid

    def item_guid_is_permalink(self, item: FeedItem) -> bool:
        return False

    def item_pubdate(self, item: FeedItem) -> datetime:
        return item.published

    def item_updateddate(self, item: FeedItem) -> datetime:
        return item.updated


class StatusAtomFeed(StatusFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj: Any) -> str:
        return self.description(obj)


class ServiceFeed(StatusFeed):
    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        from hashdesk.catalog.models import Service

        service = (
            Service.objects.filter(tiers.service_filter(tiers.PUBLIC))
            .filter(slug=kwargs["slug"])
            .first()
        )
        if service is None:
            raise Http404("No such service.")
        return service

    def title(self, obj: Any) -> str:
        return f"{obj.name} · Hashdesk status"

    def link(self, obj: Any) -> str:
        return reverse("status:service", args=[obj.slug])

    def description(self, obj: Any) -> str:
        return f"Incidents and maintenance of {obj.name}."

    def items(self, obj: Any) -> list[FeedItem]:
        return feed_items(obj.pk)


class ServiceAtomFeed(ServiceFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj: Any) -> str:
        return self.description(obj)
