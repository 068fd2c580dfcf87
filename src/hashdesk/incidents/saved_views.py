"""Saved views of the agent queue: a person's named filters and sort (docs/incidents.md,
"Agent queue").

A saved view is personal (its visibility rule shows each person their own), so a view that is
someone else's reads as missing. Changes are recorded in the audit trail and announced on the
owner's own stream only, so their other open queue pages can offer the new list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import IntegrityError, transaction
from django.http import QueryDict

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import BaseEvent, send_event
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import SavedView
from hashdesk.incidents.queue import MAX_QUERY_LENGTH, canonical_query

SAVED_VIEW_NAME_MAX = 80


class SavedViewEvent(BaseEvent):
    """A person's saved queue views changed (op: create, delete); on their own stream only."""

    type: ClassVar[str] = "saved_view"
    saved_view: dict[str, object]


def saved_view_summary(view: SavedView) -> dict[str, Any]:
    return {"id": view.pk, "name": view.name, "query": view.query, "owner_id": view.owner_id}


def _canonical(query: str) -> str:
    canonical = canonical_query(QueryDict(query or ""))
    if len(canonical) > MAX_QUERY_LENGTH:
        raise ValidationFailed(
            f"These filters are too long to save (over {MAX_QUERY_LENGTH} characters).",
            field="query",
        )
    return canonical


@transaction.atomic
def do_save_view(actor: User, *, name: str, query: str) -> SavedView:
    """Keep ``query`` (the queue's filters and sort) as the actor's view called ``name``."""
    if not is_staff(actor):
        raise Forbidden("Only service desk staff have an incident queue to save views of.")
    label = require_text(name, field="name", max_length=SAVED_VIEW_NAME_MAX)
    canonical = _canonical(query)
    duplicate = Conflict(f"You already have a view called “{label}”.", field="name")
    # Case does not make two names different to the person reading the list.
    if SavedView.objects.filter(owner=actor, name__iexact=label).exists():
        raise duplicate
    try:
        with transaction.atomic():
            view = SavedView.objects.create(owner=actor, name=label, query=canonical)
    except IntegrityError:
        # Saved at the same moment from another tab.
        raise duplicate from None
    summary = saved_view_summary(view)
    trail.record(actor=actor, action="incident.saved_view_create", obj=view, after=summary)
    send_event(SavedViewEvent(op="create", saved_view=summary), streams=[streams.user(actor.pk)])
    return view


@transaction.atomic
def do_delete_saved_view(actor: User, view_id: int) -> None:
    """Delete one of the actor's own saved views; anyone else's is NotFound."""
    view = visible_to(actor, SavedView.objects.select_for_update()).filter(pk=view_id).first()
    if view is None:
        raise NotFound("No such saved view.")
    summary = saved_view_summary(view)
    view.delete()
    trail.record(
        actor=actor,
        action="incident.saved_view_delete",
        object_type=SavedView._meta.label_lower,
        object_id=view_id,
        before=summary,
    )
    send_event(SavedViewEvent(op="delete", saved_view=summary), streams=[streams.user(actor.pk)])
