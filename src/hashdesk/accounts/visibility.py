"""Visibility rules for people, teams and tokens (registered with hashdesk.core.visibility)."""

from django.db.models import Q

from hashdesk.accounts.models import ApiToken, Team, User
from hashdesk.core import visibility
from hashdesk.notify.models import Notification, WebhookEndpoint


@visibility.register(User)
def people_visible(user: visibility.Viewer) -> Q:
    # A colleague directory: signed-in people see active colleagues; anonymous visitors no one.
    # Integration accounts are nobody's colleague, not even an administrator's: their hook or
    # receiver page is where they are managed.
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    if visibility.is_administrator(user):
        return visibility.person_condition()
    return Q(is_active=True) & visibility.person_condition()


@visibility.register(Team)
def teams_visible(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_signed_in(user) else Q(pk__in=[])


@visibility.register(ApiToken)
def tokens_visible(user: visibility.Viewer) -> Q:
    # Tokens are personal: not even administrators list other people's tokens.
    return Q(user_id=user.pk) if visibility.is_signed_in(user) else Q(pk__in=[])


@visibility.register(Notification)
def notifications_visible(user: visibility.Viewer) -> Q:
    return Q(recipient_id=user.pk) if visibility.is_signed_in(user) else Q(pk__in=[])


@visibility.register(WebhookEndpoint)
def webhooks_visible(user: visibility.Viewer) -> Q:
    # Personal like tokens, but administrators see every webhook (to find a noisy receiver);
    # only the owner may change one (notify.webhooks).
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q() if visibility.is_administrator(user) else Q(owner_id=user.pk)
