"""Who may see what. Every list, page, feed, search, export, notification and live stream asks
here, and nowhere else (docs/visibility.md).

``can_view(user, obj)`` answers for one object, ``visible_to(user, queryset)`` filters a
queryset in the database, and ``can_subscribe(user, stream)`` decides event streams. Apps add
rules for their models with :func:`register`; an unregistered model is visible to nobody, so
forgetting a rule fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet

from hashdesk.core import streams

M = TypeVar("M", bound=Model)
Viewer = Any  # accounts.User or AnonymousUser

_rules: dict[type[Model], Callable[[Viewer], Q]] = {}


def register(model: type[Model]) -> Callable[[Callable[[Viewer], Q]], Callable[[Viewer], Q]]:
    """Register the Q filter that selects the ``model`` rows a viewer may see."""

    def decorator(rule: Callable[[Viewer], Q]) -> Callable[[Viewer], Q]:
        _rules[model] = rule
        return rule

    return decorator


def is_signed_in(user: Viewer) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_staff(user: Viewer) -> bool:
    return is_signed_in(user) and bool(getattr(user, "is_service_desk_staff", False))


def staff_condition() -> Q:
    """``is_staff`` as a filter on people: active, and a staff role or superuser. For the lists
    of people a record can be assigned to or commanded by; the actions still ask ``is_staff``."""
    from hashdesk.accounts.choices import STAFF_ROLES

    roles = sorted(str(role) for role in STAFF_ROLES)
    return Q(is_active=True) & (Q(is_superuser=True) | Q(groups__name__in=roles))


def person_condition() -> Q:
    """Accounts that are people, not the accounts integrations post as (a Slack hook's, an
    Alertmanager receiver's). The one test of who is listed as a person: people lists, search,
    pickers, exports, mentions and notices all go through it (docs/accounts.md)."""
    from hashdesk.accounts.choices import AccountKind

    return Q(kind=AccountKind.PERSON)


def is_administrator(user: Viewer) -> bool:
    return is_signed_in(user) and (user.is_superuser or user.has_role("administrator"))


def administrator_condition() -> Q:
    """``is_administrator`` as a filter on people (active ones), for telling administrators."""
    return Q(is_active=True) & (Q(is_superuser=True) | Q(groups__name="administrator"))


def _rule_for(model: type[Model]) -> Callable[[Viewer], Q] | None:
    for klass in model.__mro__:
        if klass in _rules:
            return _rules[klass]
    return None


def visible_to(user: Viewer, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of ``queryset`` that ``user`` may see (one SQL filter, no per-row checks)."""
    rule = _rule_for(queryset.model)
    if rule is None:
        return queryset.none()
    return queryset.filter(rule(user or AnonymousUser()))


def can_view(user: Viewer, obj: Model) -> bool:
    rule = _rule_for(type(obj))
    if rule is None or obj.pk is None:
        return False
    return type(obj)._default_manager.filter(rule(user or AnonymousUser()), pk=obj.pk).exists()


def visibility_levels(user: Viewer) -> list[str]:
    """Record visibility levels (catalog.choices.Visibility) open to ``user``."""
    if is_staff(user):
        return ["public", "internal", "confidential"]
    if is_signed_in(user):
        return ["public", "internal"]
    return ["public"]


def can_subscribe(user: Viewer, stream: str) -> bool:
    """Whether a live connection of ``user`` may receive events published on ``stream``."""
    try:
        kind, object_id = streams.parse(stream)
    except ValueError:
        return False
    if kind == streams.PUBLIC:
        return True
    if kind == streams.MEMBERS:
        return is_signed_in(user)
    if kind == streams.STAFF:
        return is_staff(user)
    if kind == "user":
        return is_signed_in(user) and user.pk == object_id
    if kind == "team":
        if is_staff(user):
            return True
        return is_signed_in(user) and user.memberships.filter(team_id=object_id).exists()
    if kind == "service":
        from hashdesk.catalog.models import Service

        return (
            object_id is not None
            and visible_to(user, Service.objects.filter(pk=object_id)).exists()
        )
    if kind == "incident":
        # Only public changes are published here; work notes stay on the staff stream.
        from hashdesk.incidents.models import Incident

        return (
            object_id is not None
            and visible_to(user, Incident.objects.filter(pk=object_id)).exists()
        )
    if kind == "room":
        # Members only, while the room is theirs to see (a war room's incident may have turned
        # confidential since they joined). One query.
        from hashdesk.chat.models import Room

        return (
            is_signed_in(user)
            and object_id is not None
            and visible_to(user, Room.objects.filter(pk=object_id))
            .filter(memberships__user_id=user.pk)
            .exists()
        )
    return False


def default_streams(user: Viewer) -> list[str]:
    """Streams a new connection is subscribed to without asking."""
    names = [streams.PUBLIC]
    if is_signed_in(user):
        names += [streams.MEMBERS, streams.user(user.pk)]
    if is_staff(user):
        names.append(streams.STAFF)
    return names


# --- What a person may manage (coarse permissions carried by roles; see accounts/roles.py) ---


def can_manage_catalog(user: Viewer) -> bool:
    return is_signed_in(user) and user.has_perm("catalog.change_service")


def can_manage_people(user: Viewer) -> bool:
    return is_signed_in(user) and user.has_perm("accounts.change_user")


def can_manage_teams(user: Viewer) -> bool:
    return is_signed_in(user) and user.has_perm("accounts.change_team")


def can_see_vip_status(user: Viewer, person: Any) -> bool:
    """VIP status weighs incidents; colleagues outside the service desk need not know it."""
    return is_staff(user) or (is_signed_in(user) and user.pk == person.pk)


def can_moderate(user: Viewer) -> bool:
    """Moderating the wall (held posts, reports, hiding, watched words) is staff work."""
    return is_staff(user)


def can_accept_answers_for(user: Viewer, question: Any) -> bool:
    """The person who asked a wall question, or a service desk agent for them (issue 8)."""
    return is_signed_in(user) and (user.pk == question.author_id or is_staff(user))


def can_manage_changes(user: Viewer) -> bool:
    """Change managers (and administrators): override conflicts, keep windows and CABs."""
    return is_signed_in(user) and (
        user.is_superuser or user.has_role("change_manager") or user.has_role("administrator")
    )


def can_manage_problems(user: Viewer) -> bool:
    """Problem managers and agents (and administrators) open, work and publish problems."""
    return is_signed_in(user) and (
        user.is_superuser
        or user.has_role("problem_manager")
        or user.has_role("agent")
        or user.has_role("administrator")
    )


def can_review_articles(user: Viewer) -> bool:
    """Reviewers of knowledge articles (approve, send back, retire): problem managers and
    administrators. Any staff member writes and submits (docs/knowledge.md, "Review")."""
    return is_signed_in(user) and (
        user.is_superuser or user.has_role("problem_manager") or user.has_role("administrator")
    )


def can_plan_changes(user: Viewer) -> bool:
    """Service desk staff request, plan and move changes."""
    return is_staff(user)


def can_manage_chat_tools(user: Viewer) -> bool:
    """Administrators configure the chat tools that announce to channels (docs/notifications.md)."""
    return is_administrator(user)


def can_read_audit(user: Viewer) -> bool:
    return is_signed_in(user) and user.has_perm("audit.view_auditentry")


def can_view_delivery_log(user: Viewer) -> bool:
    """The delivery log of everyone (what was sent to whom, and what failed): administrators,
    through the role's ``core.view_outboxmessage``. Everyone else sees their own deliveries."""
    return is_signed_in(user) and user.has_perm("core.view_outboxmessage")


def deliveries_visible(user: Viewer) -> Q:
    """The outbox rows ``user`` may see in the delivery log (registered by notify.delivery_log):
    every row for those with the permission, the rows addressed to them for everyone else."""
    if can_view_delivery_log(user):
        return Q()
    return Q(recipient_id=user.pk) if is_signed_in(user) else Q(pk__in=[])
