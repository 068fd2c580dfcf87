"""What a person follows, in one place (docs/notifications.md, "Subscriptions").

Following lives where each thing lives: services, hashtags, threads and people are wall follows
(``wall.Follow``), incidents have followers (``incidents.IncidentFollower``), changes have
watchers (``changes.ChangeWatcher``). This module reads them together for the subscriptions page
and the API, and follows or unfollows through each app's own action — never a second copy of
their rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service, hashtag_validator
from hashdesk.changes.models import Change, ChangeWatcher
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.models import Incident, IncidentFollower
from hashdesk.wall.choices import FollowKind
from hashdesk.wall.models import Follow, Hashtag, Post

# The kinds the page lists and unfollows: the wall's four, plus incidents and changes.
INCIDENT = "incident"
CHANGE = "change"
KINDS = (
    FollowKind.SERVICE,
    FollowKind.HASHTAG,
    INCIDENT,
    CHANGE,
    FollowKind.THREAD,
    FollowKind.PERSON,
)


@dataclass
class Subscriptions:
    services: list[Service] = field(default_factory=list)
    hashtags: list[Hashtag] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    threads: list[Post] = field(default_factory=list)
    people: list[User] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(
            len(group)
            for group in (
                self.services,
                self.hashtags,
                self.incidents,
                self.changes,
                self.threads,
                self.people,
            )
        )


def subscriptions_of(person: User) -> Subscriptions:
    """Everything ``person`` follows that they may still see: one query per kind at most."""
    by_kind: dict[str, list[int]] = {kind: [] for kind in FollowKind.values}
    for kind, target_id in Follow.objects.filter(user=person).values_list("kind", "target_id"):
        by_kind.setdefault(kind, []).append(target_id)
    found = Subscriptions()
    if by_kind[FollowKind.SERVICE]:
        found.services = list(
            visible_to(person, Service.objects.filter(pk__in=by_kind[FollowKind.SERVICE])).order_by(
                "name"
            )
        )
    if by_kind[FollowKind.HASHTAG]:
        found.hashtags = list(
            Hashtag.objects.filter(pk__in=by_kind[FollowKind.HASHTAG]).order_by("name")
        )
    if by_kind[FollowKind.THREAD]:
        found.threads = list(
            visible_to(
                person,
                Post.objects.filter(pk__in=by_kind[FollowKind.THREAD], deleted_at__isnull=True),
            )
            .select_related("author")
            .order_by("-created_at", "-id")
        )
    if by_kind[FollowKind.PERSON]:
        found.people = list(
            User.objects.filter(pk__in=by_kind[FollowKind.PERSON], is_active=True).order_by(
                "display_name", "id"
            )
        )
    found.incidents = list(
        visible_to(
            person,
            Incident.objects.filter(
                pk__in=IncidentFollower.objects.filter(user=person).values("incident_id")
            ),
        ).order_by("-created_at", "-id")
    )
    found.changes = list(
        visible_to(
            person,
            Change.objects.filter(
                pk__in=ChangeWatcher.objects.filter(user=person).values("change_id")
            ),
        ).order_by("-created_at", "-id")
    )
    return found


def _tag_name(text: str) -> str:
    return text.strip().lstrip("#").strip().lower()


@transaction.atomic
def do_follow_hashtag(actor: User, text: str) -> Follow:
    """Follow the hashtag ``text`` ("#vpn" or "vpn"), even one nobody has used yet; a service's
    own hashtag is bound to that service, as the wall binds it when a post uses it."""
    from hashdesk.wall.actions import do_follow

    name = _tag_name(text)
    try:
        hashtag_validator(name)
    except Exception as error:  # Django's ValidationError, with the catalogue's message
        raise ValidationFailed(
            "A hashtag starts with a letter and has up to 50 lowercase letters, digits, "
            "'_' or '-'.",
            field="hashtag",
        ) from error
    tag = Hashtag.objects.filter(name=name).first()
    if tag is None:
        service = visible_to(actor, Service.objects.filter(hashtag=name, is_active=True)).first()
        tag, _ = Hashtag.objects.get_or_create(name=name, defaults={"service": service})
    return do_follow(actor, FollowKind.HASHTAG, tag)


def follow_target(actor: User, kind: str, target_id: int) -> Any:
    """The object to unfollow of ``kind`` and id; NotFound when there is none to see."""
    if kind == FollowKind.SERVICE:
        target: Any = Service.objects.filter(pk=target_id).first()
    elif kind == FollowKind.HASHTAG:
        target = Hashtag.objects.filter(pk=target_id).first()
    elif kind == FollowKind.THREAD:
        target = Post.objects.filter(pk=target_id).first()
    elif kind == FollowKind.PERSON:
        target = User.objects.filter(pk=target_id).first()
    elif kind == INCIDENT:
        target = visible_to(actor, Incident.objects.filter(pk=target_id)).first()
    elif kind == CHANGE:
        target = visible_to(actor, Change.objects.filter(pk=target_id)).first()
    else:
        raise ValidationFailed(f"Cannot follow a {kind!r}.", field="kind")
    if target is None:
        raise NotFound(f"No such {kind}.")
    return target


def do_unfollow_any(actor: User, kind: str, target_id: int) -> None:
    """Stop following through the action of the app the follow belongs to."""
    target = follow_target(actor, kind, target_id)
    if kind == INCIDENT:
        from hashdesk.incidents.actions import do_unfollow as unfollow_incident

        unfollow_incident(actor, target)
    elif kind == CHANGE:
        from hashdesk.changes.watching import do_unwatch_change

        do_unwatch_change(actor, target)
    else:
        from hashdesk.wall.actions import do_unfollow

        do_unfollow(actor, kind, target)
