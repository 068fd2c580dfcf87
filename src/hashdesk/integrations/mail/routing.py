"""Which service a new mail is about (docs/integrations/mail.md, "Choosing the service").

In order, among the active services the sender may see:

1. a recipient's local part that is a service's slug or hashtag (``vpn@desk.example.org``);
2. a #hashtag in the subject or body bound to a service (its hashtag, or a wall hashtag bound
   to it);
3. the text: the service of the most similar incidents the sender may see (the insight
   engine's similarity search, a handful of queries);
4. ``HASHDESK_INBOUND_MAIL_DEFAULT_SERVICE``.

None of these → the mail is refused, naming what to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db.models import Q, QuerySet

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.models import Incident
from hashdesk.integrations.mail.addresses import service_local_parts
from hashdesk.integrations.mail.parsing import ParsedMail
from hashdesk.wall.models import Hashtag
from hashdesk.wall.parsing import hashtags

SIMILAR_CONSIDERED = 5


def _services(author: User) -> QuerySet[Service]:
    return visible_to(author, Service.objects.filter(is_active=True))


def _by_address(author: User, recipients: Sequence[str]) -> Service | None:
    for local in service_local_parts(list(recipients)):
        found = _services(author).filter(Q(slug=local) | Q(hashtag=local)).first()
        if found is not None:
            return found
    return None


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


def guess_service(author: User, mail: ParsedMail, recipients: Sequence[str], text: str) -> Service:
    words = f"{mail.subject}\n{text}"
    service = (
        _by_address(author, recipients)
        or _by_hashtag(author, words)
        or (_by_similar_incidents(author, words) if words.strip() else None)
    )
    if service is None and settings.INBOUND_MAIL_DEFAULT_SERVICE:
        service = _services(author).filter(slug=settings.INBOUND_MAIL_DEFAULT_SERVICE).first()
    if service is None:
        raise ValidationFailed(
            "Hashdesk could not tell which service this mail is about; write to the service's "
            "address (e.g. vpn@...) or name it with its #hashtag.",
            field="service",
        )
    return service
