"""Announcements to subscribers who are not people with an account: the status page's email
subscribers and the administrators' chat-tool channels (docs/notifications.md).

People are told through :func:`hashdesk.notify.actions.do_send_notices`, which honours each
person's channels. A service-wide announcement (a major incident and its updates, a public
incident on the status page, a change announcement) is *also* offered to every registered
receiver here, inside the caller's transaction, so whatever a receiver enqueues commits or rolls
back with the announcement itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hashdesk.catalog.choices import Visibility


@dataclass(frozen=True)
class Announcement:
    # A notification kind ("incident.major_declared", "incident.official_update", "change.start").
    kind: str
    # Unique per announcement and stable if it is replayed ("incident:42:entry:91"); receivers
    # derive their outbox idempotency keys from it.
    key: str
    # The services concerned: the record's own services first, then dependents.
    service_ids: tuple[int, ...]
    title: str
    # Plain text, already redacted; never a work note.
    body: str
    # A path on this site ("/incidents/INC-000042/").
    url: str
    # Who may know of it: Visibility.PUBLIC (anyone, also anonymous subscribers),
    # INTERNAL (signed-in people and the organisation's chat channels) or CONFIDENTIAL
    # (staff only: no receiver here announces it).
    audience: str
    # What a mail thread is about ("incident/INC-000042"), for threading headers.
    thread: str = ""


Receiver = Callable[[Announcement], None]

_receivers: list[Receiver] = []


def announcement_receiver(receiver: Receiver) -> Receiver:
    """Register a receiver (at import of its module, from an AppConfig.ready)."""
    if receiver not in _receivers:
        _receivers.append(receiver)
    return receiver


def announce(announcement: Announcement) -> None:
    """Offer ``announcement`` to every receiver; call it inside the announcing transaction."""
    if announcement.audience == Visibility.CONFIDENTIAL:
        return
    for receiver in _receivers:
        receiver(announcement)
