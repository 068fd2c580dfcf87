"""A person's own data as one JSON document ("download my data", docs/integrations/transfer.md).

Everything is selected by the person's own id, never through another person's rows, and only
named fields are read: no password hash, token secret hash or webhook signing secret ever
leaves. Each section is one query (``values()``), read in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from hashdesk.accounts.models import ApiToken, TeamMembership, User
from hashdesk.audit import trail
from hashdesk.audit.models import AuditEntry
from hashdesk.chat.models import Message
from hashdesk.incidents.models import Incident, IncidentFollower
from hashdesk.integrations.transfer.exports import plain
from hashdesk.notify.models import Notification, NotificationPreference, WebhookEndpoint
from hashdesk.wall.models import Follow, Post, Reaction

FORMAT_VERSION = 1


def _section(queryset: QuerySet[Any], *fields: str) -> list[dict[str, Any]]:
    return [
        {name: plain(value) for name, value in row.items()}
        for row in queryset.values(*fields).iterator(chunk_size=1000)
    ]


def sections(person: User) -> Iterator[tuple[str, Any]]:
    """(name, content) of each part of ``person``'s export."""
    yield "format_version", FORMAT_VERSION
    yield (
        "profile",
        {
            "id": person.pk,
            "email": person.email,
            "display_name": person.display_name,
            "department": person.department,
            "site": person.site,
            "time_zone": person.time_zone,
            "is_vip": person.is_vip,
            "roles": sorted(person.groups.values_list("name", flat=True)),
            "date_joined": plain(getattr(person, "date_joined", None)),
            "last_login": plain(person.last_login),
        },
    )
    yield (
        "teams",
        _section(TeamMembership.objects.filter(user=person), "team__slug", "team__name", "role"),
    )
    yield (
        "incidents_reported",
        _section(
            Incident.objects.filter(reporter=person).order_by("created_at", "id"),
            "number",
            "title",
            "description",
            "service__slug",
            "state",
            "priority",
            "created_at",
            "resolved_at",
        ),
    )
    yield (
        "incidents_followed",
        _section(IncidentFollower.objects.filter(user=person), "incident__number", "created_at"),
    )
    yield (
        "posts",
        _section(
            Post.objects.filter(author=person).order_by("created_at", "id"),
            "id",
            "kind",
            "body",
            "created_at",
        ),
    )
    yield (
        "reactions",
        _section(Reaction.objects.filter(user=person), "post_id", "kind", "created_at"),
    )
    yield (
        "follows",
        _section(Follow.objects.filter(user=person), "kind", "target_id", "created_at"),
    )
    yield (
        "chat_messages",
        _section(
            Message.objects.filter(author=person).order_by("id"),
            "id",
            "room__name",
            "body",
            "created_at",
        ),
    )
    yield (
        "notifications",
        _section(
            Notification.objects.filter(recipient=person).order_by("created_at", "id"),
            "kind",
            "title",
            "body",
            "url",
            "created_at",
            "read_at",
        ),
    )
    yield (
        "subscriptions",
        _section(
            NotificationPreference.objects.filter(user=person),
            "category",
            "channels",
            "digest",
            "updated_at",
        ),
    )
    yield (
        "webhooks",
        _section(
            WebhookEndpoint.objects.filter(owner=person), "name", "url", "categories", "is_active"
        ),
    )
    yield (
        "api_tokens",
        _section(
            ApiToken.objects.filter(user=person),
            "name",
            "prefix",
            "scope",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ),
    )
    yield (
        "audit_entries",
        _section(
            AuditEntry.objects.filter(
                Q(actor=person) | Q(object_type="accounts.user", object_id=str(person.pk))
            ).order_by("sequence"),
            "occurred_at",
            "action",
            "object_type",
            "object_id",
            "object_repr",
        ),
    )


def personal_export(person: User) -> dict[str, Any]:
    """``person``'s data; records the export in the audit trail."""
    document = dict(sections(person))
    trail.record(actor=person, action="transfer.personal_export", obj=person)
    return document
