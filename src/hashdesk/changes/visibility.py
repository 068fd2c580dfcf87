"""Who may see changes (registered with hashdesk.core.visibility; docs/changes.md).

Staff see every change. Everyone else who is signed in sees changes that are scheduled or
later (not drafts nor those still being assessed or authorised) on services they may see —
they are told about them anyway — and never the approvals, the windows' reasons aside.
"""

from django.db.models import Exists, OuterRef, Q

from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import AffectedService, Approval, Change, ChangeWindow
from hashdesk.core import visibility

PLANNING = (ChangeState.DRAFT, ChangeState.ASSESS, ChangeState.AUTHORISE)


@visibility.register(Change)
def changes_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    hidden_service = AffectedService.objects.filter(change=OuterRef("pk")).exclude(
        service__visibility__in=visibility.visibility_levels(user)
    )
    return ~Q(state__in=PLANNING) & ~Q(Exists(hidden_service))


@visibility.register(Approval)
def approvals_visible(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_staff(user) else Q(pk__in=[])


@visibility.register(ChangeWindow)
def windows_visible(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_signed_in(user) else Q(pk__in=[])
