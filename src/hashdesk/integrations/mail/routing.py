"""Which service a new mail is about (docs/integrations/mail.md, "Choosing the service").

In order, among the active services the sender may see:

1. the recipients' local parts, in recipient order: an active alias (``MailAlias``) decides
   its local part — its service, or "guess", which names nothing and leaves the mail to the
   steps below; a local part without an alias names the service whose slug or hashtag it is
   (``vpn@desk.example.org``). An alias shadows a slug or hashtag of the same name;
2. a #hashtag in the subject or body bound to a service (its hashtag, or a wall hashtag bound
   to it);
3. the text: the service of the most similar incidents the sender may see (the insight
   engine's similarity search, a handful of queries);
4. ``HASHDESK_INBOUND_MAIL_DEFAULT_SERVICE``.

Step 1 costs two queries however many recipients and aliases there are. An alias whose service
is retired, or one the sender may not see, names nothing either; the mail log's reason says
so. None of these → the mail is refused, naming what to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.models import Incident
from hashdesk.integrations.mail.addresses import service_local_parts
from hashdesk.integrations.mail.choices import AliasTarget
from hashdesk.integrations.mail.models import MailAlias
from hashdesk.integrations.mail.parsing import ParsedMail
from hashdesk.wall.models import Hashtag
from hashdesk.wall.parsing import hashtags

SIMILAR_CONSIDERED = 5


@dataclass(frozen=True)
class Route:
    """The service of a new mail, and a line for the mail log about how the address counted."""

    service: Service
    note: str = ""


class NoService(ValidationFailed):
    """No step named a service; ``log_note`` is for the mail log, not the sender."""

    def __init__(self, detail: str, *, log_note: str = "") -> None:
        super().__init__(detail, field="service")
        self.log_note = log_note


def _services(author: User) -> QuerySet[Service]:
    return visible_to(author, Service.objects.filter(is_active=True))


def _by_address(author: User, recipients: Sequence[str]) -> tuple[Service | None, list[str]]:
    """The service the first deciding recipient names, and notes for the mail log."""
    parts = service_local_parts(list(recipients))
    if not parts:
        return None, []
    aliases = {
        alias.local_part: alias
        for alias in MailAlias.objects.filter(local_part__in=parts, is_active=True).select_related(
            "service"
        )
    }
    alias_services = [a.service_id for a in aliases.values() if a.service_id is not None]
    named = [local for local in parts if local not in aliases]
    candidates: list[Service] = []
    if alias_services or named:
        candidates = list(
            _services(author).filter(
                Q(pk__in=alias_services) | Q(slug__in=named) | Q(hashtag__in=named)
            )
        )
    by_pk = {service.pk: service for service in candidates}
    by_name: dict[str, Service] = {}
    for service in candidates:  # in name order, as a slug-or-hashtag lookup's first() was
        by_name.setdefault(service.slug, service)
        by_name.setdefault(service.hashtag, service)
    notes: list[str] = []
    for local in parts:
        alias = aliases.get(local)
        if alias is None:
            found = by_name.get(local)
        elif alias.target == AliasTarget.GUESS:
            found = None
            notes.append(f"alias {local}@: service guessed")
        else:
            found = by_pk.get(alias.service_id) if alias.service_id is not None else None
            if found is not None:
                notes.append(f"alias {local}@ → {found.name}")
            elif alias.service is not None and not alias.service.is_active:
                notes.append(
                    f"alias {local}@ points at the retired service {alias.service.name}; "
                    "guessed instead"
                )
            else:
                notes.append(
                    f"alias {local}@ points at a service the sender may not see; guessed instead"
                )
        if found is not None:
            return found, notes
    return None, notes


def _by_hashtag(author: User, text: str) -> Service | None:
    names = hashtags(text)
    if not names:
        return None
    services = _services(author)
    by_tag = {s.hashtag: s for s in services.filter(hashtag__in=names)}
    bound = {
        tag.name: tag.service_id
        for tag in Hashtag.objects.filter(name__in=names, service__isnull=False)
    }
    bound_services = services.in_bulk([pk for pk in bound.values() if pk is not None])
    for name in names:  # the first tag that names a service wins
        if name in by_tag:
            return by_tag[name]
        if bound.get(name) in bound_services:
            return bound_services[bound[name]]
    return None


def _by_similar_incidents(author: User, text: str) -> Service | None:
    from hashdesk.insights.similar import similar_items

    items = similar_items(author, text, kinds=["incident"], limit=SIMILAR_CONSIDERED)
    votes: Counter[int] = Counter()
    for rank, item in enumerate(items):
        if isinstance(item.object, Incident):
            votes[item.object.service_id] += SIMILAR_CONSIDERED - rank
    if not votes:
        return None
    return _services(author).filter(pk=votes.most_common(1)[0][0]).first()


def guess_service(author: User, mail: ParsedMail, recipients: Sequence[str], text: str) -> Route:
    words = f"{mail.subject}\n{text}"
    service, notes = _by_address(author, recipients)
    service = (
        service
        or _by_hashtag(author, words)
        or (_by_similar_incidents(author, words) if words.strip() else None)
    )
    if service is None and settings.INBOUND_MAIL_DEFAULT_SERVICE:
        service = _services(author).filter(slug=settings.INBOUND_MAIL_DEFAULT_SERVICE).first()
    if service is None:
        raise NoService(
            "Hashdesk could not tell which service this mail is about; write to the service's "
            "address (e.g. vpn@...) or name it with its #hashtag.",
            log_note="; ".join(notes),
        )
    return Route(service, "; ".join(notes))
