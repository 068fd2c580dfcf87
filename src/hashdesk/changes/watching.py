"""Watching a change: hearing of its announcements (scheduled, moved, reminders, start, end,
cancelled) even when it affects no service one uses (docs/notifications.md, "Subscriptions").

Watchers join the people ``changes.audience.people_concerned`` picks for a change, under the
same rule: a change on a confidential service is told to staff only.
"""

from __future__ import annotations

from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.changes.models import Change, ChangeWatcher
from hashdesk.core.errors import Conflict, NotFound
from hashdesk.core.visibility import can_view, is_signed_in


def _require_view(actor: User, change: Change) -> None:
    if not is_signed_in(actor) or not can_view(actor, change):
        raise NotFound("No such change.")


def is_watching(person: User, change: Change) -> bool:
    return ChangeWatcher.objects.filter(change=change, user_id=person.pk).exists()


@transaction.atomic
def do_watch_change(actor: User, change: Change) -> ChangeWatcher:
    _require_view(actor, change)
    watcher, created = ChangeWatcher.objects.get_or_create(change=change, user=actor)
    if not created:
        raise Conflict(f"You already watch {change.number}.")
    trail.record(actor=actor, action="changes.watch", obj=change)
    return watcher


@transaction.atomic
def do_unwatch_change(actor: User, change: Change) -> None:
    _require_view(actor, change)
    deleted, _ = ChangeWatcher.objects.filter(change=change, user=actor).delete()
    if not deleted:
        raise NotFound(f"You do not watch {change.number}.")
    trail.record(actor=actor, action="changes.unwatch", obj=change)
