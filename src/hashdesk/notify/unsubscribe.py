"""One-click unsubscribe from notification mails (RFC 8058).

Every notification mail carries a link ``/notifications/unsubscribe/<token>/``. The token is
signed with ``django.core.signing`` and holds the person's id and the categories the mail was
about; it is the whole authorisation: whoever holds the mail may stop that kind of mail, no
sign-in needed, because the mailbox is what receives them. Unsubscribing turns the email channel
off for those categories in the person's ``NotificationPreference`` (the other channels and the
rhythm stay as they were) and is audited.

Tokens expire after :data:`UNSUBSCRIBE_MAX_AGE`: a mail found in an archive years later does not
keep a working link, and the page then points to the preferences page instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.notify.choices import Category, Channel
from hashdesk.notify.models import NotificationPreference
from hashdesk.notify.preferences import preferences_for

UNSUBSCRIBE_SALT = "hashdesk.notify.unsubscribe"
UNSUBSCRIBE_MAX_AGE = timedelta(days=365)
# The preferences page (built with the notification routing); mails and pages link to it.
PREFERENCES_PATH = "/notifications/preferences/"


def unsubscribe_token(user_id: int, categories: Iterable[str]) -> str:
    """A signed, timestamped token naming ``user_id`` and the categories to stop mailing."""
    chosen = sorted({str(category) for category in categories})
    if not chosen:
        raise ValueError("an unsubscribe token names at least one category")
    return signing.dumps([user_id, chosen], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user_id: int, categories: Iterable[str]) -> str:
    """The absolute address of the unsubscribe page (and RFC 8058 one-click POST target)."""
    token = unsubscribe_token(user_id, categories)
    return f"{settings.PUBLIC_URL}/notifications/unsubscribe/{token}/"


def preferences_url() -> str:
    return f"{settings.PUBLIC_URL}{PREFERENCES_PATH}"


@dataclass(frozen=True)
class UnsubscribeRequest:
    """What a valid token asks: stop mailing ``user`` about ``categories``."""

    user: User
    categories: tuple[Category, ...]

    @property
    def labels(self) -> list[str]:
        return [category.label for category in self.categories]


def read_unsubscribe_token(token: str) -> UnsubscribeRequest | None:
    """The request a token makes, or None when it is forged, expired, malformed, or names a
    person who no longer has an active account."""
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    user_id, names = value
    if not isinstance(user_id, int) or not isinstance(names, list) or not names:
        return None
    if not all(isinstance(name, str) and name in Category.values for name in names):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    return UnsubscribeRequest(user, tuple(Category(name) for name in sorted(set(names))))


@transaction.atomic
def do_unsubscribe_email(request: UnsubscribeRequest, *, one_click: bool) -> list[str]:
    """Turn email off for the request's categories; returns the categories that changed.

    Unsubscribing twice changes nothing the second time and records nothing.
    """
    person = request.user
    current = preferences_for([person.pk])[person.pk]
    now = timezone.now()
    changed = [
        category for category in request.categories if Channel.EMAIL in current[category].channels
    ]
    if not changed:
        return []
    NotificationPreference.objects.bulk_create(
        [
            NotificationPreference(
                user=person,
                category=category,
                channels=sorted(current[category].channels - {Channel.EMAIL}),
                digest=current[category].digest,
                updated_at=now,
            )
            for category in changed
        ],
        update_conflicts=True,
        unique_fields=["user", "category"],
        update_fields=["channels", "digest", "updated_at"],
    )
    # The token holder is not signed in: the entry is the system's, on the person's behalf.
    trail.record(
        actor=None,
        action="notify.email_unsubscribe",
        obj=person,
        before={
            "categories": {c: sorted(current[c].channels) for c in changed},
        },
        after={
            "categories": {c: sorted(current[c].channels - {Channel.EMAIL}) for c in changed},
            "via": "one-click" if one_click else "unsubscribe page",
        },
    )
    return [str(category) for category in changed]
