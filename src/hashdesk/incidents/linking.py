"""Links between incidents and the merge of duplicates (docs/incidents.md, "Duplicates and merge").

A link says one incident is a duplicate of, or related to, another; it is recorded on both
timelines. A merge folds a duplicate into the incident that survives: its affected people,
followers, timeline and attachments move over, and the duplicate is closed as a pointer to the
survivor. Every change here is staff work and, like every action, checks visibility, writes
timeline, audit and events in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.core.errors import Conflict, NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents import sla
from hashdesk.incidents.actions import (
    _bump,
    _note,
    _publish,
    _require_staff,
    _require_view,
    _rescore,
    audience,
    incident_snapshot,
)
from hashdesk.incidents.choices import FINAL_STATES, LinkKind, ResolutionCode, State, TimelineKind
from hashdesk.incidents.models import (
    AffectedUser,
    Attachment,
    Incident,
    IncidentFollower,
    IncidentLink,
    TimelineEntry,
)
from hashdesk.notify.actions import do_notify_many

# Kinds a person may record; ``merged_into`` is written only by a merge.
MANUAL_LINK_KINDS = (LinkKind.DUPLICATE_OF, LinkKind.RELATED)


def incident_url(incident: Incident) -> str:
    return reverse("incidents:detail", args=[incident.number])


def is_confidential(incident: Incident) -> bool:
    """Only staff may know it: confidential itself, or on a confidential service."""
    return (
        incident.visibility == Visibility.CONFIDENTIAL
        or incident.service.visibility == Visibility.CONFIDENTIAL
    )


def _lock_pair(first: Incident, second: Incident) -> tuple[Incident, Incident]:
    """Re-read both incidents under row locks taken in id order, so two merges or links of the
    same pair in opposite directions wait for each other instead of deadlocking."""
    rows = {
        row.pk: row
        for row in Incident.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return rows[first.pk], rows[second.pk]


def _require_open(incident: Incident) -> None:
    if incident.state in FINAL_STATES:
        raise ValidationFailed(
            f"{incident.number} is {incident.get_state_display().lower()} and cannot change.",
            field="state",
        )


def _require_other(actor: User | None, other: Incident) -> None:
    """The incident the actor names must be one they may see."""
    if actor is not None and not visible_to(actor, Incident.objects.filter(pk=other.pk)).exists():
        # Unknown and invisible read the same, so a number does not confirm an incident exists.
        raise NotFound("No such incident.", field="incident")


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkView:
    """One link as seen from ``incident``: the phrase, the incident at the other end."""

    link: IncidentLink
    outgoing: bool
    other: Incident

    @property
    def pk(self) -> int:
        return self.link.pk

    @property
    def kind(self) -> str:
        return self.link.kind

    @property
    def phrase(self) -> str:
        if self.link.kind == LinkKind.RELATED:
            return "Related to"
        if self.link.kind == LinkKind.DUPLICATE_OF:
            return "Duplicate of" if self.outgoing else "Has duplicate"
        return "Merged into" if self.outgoing else "Merged from"

    @property
    def removable(self) -> bool:
        # A merge cannot be undone by deleting its link.
        return self.link.kind != LinkKind.MERGED_INTO

    @property
    def created_at(self) -> datetime:
        return self.link.created_at


def visible_links(viewer: Any, incident: Incident) -> list[LinkView]:
    """The links of ``incident`` whose both ends ``viewer`` may see (one query)."""
    links = (
        visible_to(viewer, IncidentLink.objects.all())
        .filter(Q(from_incident=incident) | Q(to_incident=incident))
        .select_related("from_incident", "to_incident", "created_by")
        .order_by("created_at", "id")
    )
    return [
        LinkView(
            link=link,
            outgoing=link.from_incident_id == incident.pk,
            other=link.to_incident if link.from_incident_id == incident.pk else link.from_incident,
        )
        for link in links
    ]


def link_snapshot(link: IncidentLink) -> dict[str, object]:
    return {
        "id": link.pk,
        "kind": link.kind,
        "from_incident_id": link.from_incident_id,
        "to_incident_id": link.to_incident_id,
    }


# --- Links --------------------------------------------------------------------------------------


def _record_link_change(
    actor: User | None,
    incident: Incident,
    other: Incident,
    *,
    kind: str,
    removed: bool,
) -> None:
    """A ``link`` entry on both timelines, and an event for each incident's audience.

    An entry names the other incident by number only, and is public only when the other one is
    not confidential: whoever may read this incident may learn that a non-confidential
    incident is linked, never its title (the links list shows details to those who may see
    both ends).
    """
    for here, there, outgoing in ((incident, other, True), (other, incident, False)):
        public = not is_confidential(there)
        entry = _note(
            here,
            actor,
            TimelineKind.LINK,
            public=public,
            link_kind=kind,
            other=there.number,
            outgoing=outgoing,
            removed=removed,
        )
        _publish(here, "link", entry=entry, public=public)


@transaction.atomic
def do_link(actor: User | None, incident: Incident, other: Incident, kind: str) -> IncidentLink:
    """Record that ``incident`` is a duplicate of, or related to, ``other`` (staff)."""
    # Both looked up first: a requester asking about an incident they may not see gets the
    # same answer as for one that does not exist.
    _require_view(actor, incident)
    _require_other(actor, other)
    _require_staff(actor, "link incidents")
    if other.pk == incident.pk:
        raise ValidationFailed("An incident cannot be linked to itself.", field="incident")
    if kind not in MANUAL_LINK_KINDS:
        raise ValidationFailed(
            "Link as duplicate_of or related; merged_into is recorded by a merge.", field="kind"
        )
    incident, other = _lock_pair(incident, other)
    _require_open(incident)
    existing = IncidentLink.objects.filter(
        Q(from_incident=incident, to_incident=other) | Q(from_incident=other, to_incident=incident)
    )
    clash = existing.filter(kind=kind).first()
    if clash is not None:
        # "Related" has no direction; "duplicate of" both ways round would contradict itself.
        reverse_duplicate = kind == LinkKind.DUPLICATE_OF and clash.to_incident_id == incident.pk
        raise Conflict(
            f"{other.number} is already recorded as a duplicate of {incident.number}."
            if reverse_duplicate
            else f"{incident.number} is already linked to {other.number} that way.",
            field="incident",
        )
    link = IncidentLink.objects.create(
        from_incident=incident, to_incident=other, kind=kind, created_by=actor
    )
    _record_link_change(actor, incident, other, kind=kind, removed=False)
    trail.record(actor=actor, action="incident.link", obj=incident, after=link_snapshot(link))
    return link


@transaction.atomic
def do_unlink(actor: User | None, incident: Incident, link: IncidentLink) -> None:
    """Remove a duplicate or related link of ``incident`` (staff); merges stay recorded."""
    _require_view(actor, incident)
    _require_staff(actor, "remove links between incidents")
    if incident.pk not in (link.from_incident_id, link.to_incident_id):
        raise NotFound("No such link.")
    if link.kind == LinkKind.MERGED_INTO:
        raise ValidationFailed("A merge cannot be undone by removing its link.", field="link")
    source, target = _lock_pair(link.from_incident, link.to_incident)
    _require_open(source if source.pk == incident.pk else target)
    before = link_snapshot(link)
    deleted, _ = IncidentLink.objects.filter(pk=link.pk).delete()
    if not deleted:
        raise NotFound("No such link.")
    _record_link_change(actor, source, target, kind=link.kind, removed=True)
    trail.record(actor=actor, action="incident.unlink", obj=incident, before=before)


# --- Merge --------------------------------------------------------------------------------------


def check_merge(actor: User | None, duplicate: Incident, survivor: Incident) -> None:
    """Whether ``actor`` may merge ``duplicate`` into ``survivor`` as they stand now.

    ``do_merge`` asks again under its locks; pages ask first, to review the merge.
    """
    _require_view(actor, duplicate)
    if (
        actor is not None
        and not visible_to(actor, Incident.objects.filter(pk=survivor.pk)).exists()
    ):
        raise NotFound("No such incident.", field="into")
    _require_staff(actor, "merge incidents")
    if survivor.pk == duplicate.pk:
        raise ValidationFailed("An incident cannot be merged into itself.", field="into")
    _check_pair(duplicate, survivor)


def _check_pair(duplicate: Incident, survivor: Incident) -> None:
    for incident in (duplicate, survivor):
        if incident.state in FINAL_STATES:
            raise ValidationFailed(
                f"{incident.number} is {incident.get_state_display().lower()} and cannot be "
                "merged.",
                field="into" if incident is survivor else "state",
            )
    if survivor.merged_into_id is not None:
        raise ValidationFailed(
            f"{survivor.number} was itself merged; merge into the incident it points to.",
            field="into",
        )
    if is_confidential(duplicate) != is_confidential(survivor):
        # Moving people and entries across would show them to people who may not see them.
        raise ValidationFailed(
            "A confidential incident can only be merged with another confidential one.",
            field="into",
        )


def _move_people(
    model: type[AffectedUser] | type[IncidentFollower], duplicate: Incident, survivor: Incident
) -> int:
    """Move the duplicate's rows to the survivor, skipping people the survivor already has
    (the unique constraint); those stay with the closed duplicate. Returns how many moved."""
    already = model.objects.filter(incident=survivor).values("user_id")
    return (
        model.objects.filter(incident=duplicate)
        .exclude(user_id__in=already)
        .update(incident=survivor)
    )


def _move_timeline(duplicate: Incident, survivor: Incident) -> int:
    """The duplicate's history joins the survivor's, each entry marked with where it came from."""
    entries = list(TimelineEntry.objects.filter(incident=duplicate).only("pk", "data"))
    for entry in entries:
        entry.incident = survivor
        entry.data = {**entry.data, "merged_from": duplicate.number}
    TimelineEntry.objects.bulk_update(entries, ["incident", "data"], batch_size=500)
    return len(entries)


@transaction.atomic
def do_merge(
    actor: User | None,
    duplicate: Incident,
    survivor: Incident,
    *,
    expected_version: int | None = None,
) -> Incident:
    """Fold ``duplicate`` into ``survivor`` (staff); returns the survivor.

    ``expected_version`` is the duplicate's version the caller saw (stale: Conflict).
    """
    check_merge(actor, duplicate, survivor)
    duplicate, survivor = _lock_pair(duplicate, survivor)
    if expected_version is not None and duplicate.version != expected_version:
        raise Conflict(
            f"{duplicate.number} was changed by someone else (version {duplicate.version}, "
            f"you had {expected_version}). Reload and try again.",
            field="version",
            current_version=duplicate.version,
        )
    _check_pair(duplicate, survivor)
    now = timezone.now()
    before_duplicate = incident_snapshot(duplicate)
    before_survivor = incident_snapshot(survivor)
    # Captured before anyone moves: the duplicate's own people must hear that it closed.
    duplicate_streams = set(audience(duplicate, public=True))
    following = User.objects.filter(
        pk__in=IncidentFollower.objects.filter(incident=duplicate).values("user_id")
    )
    if actor is not None:
        following = following.exclude(pk=actor.pk)
    if is_confidential(duplicate):
        from hashdesk.incidents.major import staff_people  # major builds on this module

        # Requesters may be recorded on it, but only staff may hear of it.
        following = following.filter(pk__in=staff_people().values("pk"))
    followers = list(following)

    affected_moved = _move_people(AffectedUser, duplicate, survivor)
    followers_moved = _move_people(IncidentFollower, duplicate, survivor)
    entries_moved = _move_timeline(duplicate, survivor)
    attachments_moved = Attachment.objects.filter(incident=duplicate).update(incident=survivor)
    IncidentLink.objects.get_or_create(
        from_incident=duplicate,
        to_incident=survivor,
        kind=LinkKind.MERGED_INTO,
        defaults={"created_by": actor},
    )

    # The duplicate lives on as a closed pointer to the survivor.
    from_state = duplicate.state
    duplicate.merged_into = survivor
    duplicate.state = State.CLOSED
    duplicate.hold_reason = ""
    duplicate.resolution_code = ResolutionCode.DUPLICATE
    duplicate.resolution_notes = f"Merged into {survivor.number}."
    duplicate.resolved_at = duplicate.resolved_at or now
    duplicate.closed_at = now
    # A major duplicate owes no more updates: the survivor carries the communication.
    duplicate.next_update_due_at = None
    fields = [
        "merged_into",
        "state",
        "hold_reason",
        "resolution_code",
        "resolution_notes",
        "resolved_at",
        "closed_at",
        "next_update_due_at",
    ]
    fields += sla.on_transition(duplicate, from_state, State.CLOSED, now)
    _note(
        duplicate,
        actor,
        TimelineKind.STATE_CHANGE,
        body=duplicate.resolution_notes,
        old=from_state,
        new=State.CLOSED,
        hold_reason="",
    )
    duplicate_entry = _note(
        duplicate,
        actor,
        TimelineKind.MERGE,
        body=f"Merged into {survivor.number}.",
        into=survivor.number,
    )
    _bump(duplicate, fields, now)
    # A merged major incident's war room stays readable but takes no more messages.
    from hashdesk.chat.war_rooms import close_war_room

    close_war_room(duplicate)

    joined = "person joined" if affected_moved == 1 else "people joined"
    survivor_entry = _note(
        survivor,
        actor,
        TimelineKind.MERGE,
        body=f"{duplicate.number} merged into this incident; {affected_moved} affected {joined}.",
        duplicate=duplicate.number,
        affected_moved=affected_moved,
        followers_moved=followers_moved,
        entries_moved=entries_moved,
        attachments_moved=attachments_moved,
    )
    # More affected people may meet the impact policy.
    survivor_fields: list[str] = []
    _rescore(survivor, actor, survivor_fields)
    if survivor_fields:
        survivor_fields += sla.retarget(survivor, now)
    _bump(survivor, survivor_fields, now)

    trail.record(
        actor=actor,
        action="incident.merge_duplicate",
        obj=duplicate,
        before=before_duplicate,
        after=incident_snapshot(duplicate),
    )
    trail.record(
        actor=actor,
        action="incident.merge_survivor",
        obj=survivor,
        before=before_survivor,
        after={
            **incident_snapshot(survivor),
            "merged": duplicate.number,
            "affected_moved": affected_moved,
            "followers_moved": followers_moved,
        },
    )
    _publish(duplicate, "merge", entry=duplicate_entry, extra_streams=duplicate_streams)
    _publish(survivor, "merge", entry=survivor_entry)
    # Only the survivor's number: its title is for those who may see it.
    do_notify_many(
        followers,
        kind="incident.merged",
        title=f"{duplicate.number} was merged into {survivor.number}",
        body=f"Updates on “{duplicate.title}” continue on {survivor.number}.",
        url=incident_url(survivor),
    )
    return survivor
