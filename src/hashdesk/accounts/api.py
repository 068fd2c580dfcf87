"""Account endpoints: my profile, my API tokens, people and teams."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from hashdesk.accounts import actions
from hashdesk.accounts.models import ApiToken, Team, TeamMembership, User
from hashdesk.accounts.schemas import (
    MeOut,
    MeUpdate,
    PersonCreate,
    PersonDetailOut,
    PersonFilters,
    PersonPage,
    PersonUpdate,
    TeamCreate,
    TeamDetailOut,
    TeamMemberCreate,
    TeamMemberOut,
    TeamPage,
    TokenCreate,
    TokenCreated,
    TokenPage,
)
from hashdesk.api.auth import acting_user, request_token
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import (
    can_manage_people,
    can_manage_teams,
    can_see_vip_status,
    visible_to,
)

router = Router(tags=["accounts"])

TEAM_ORDER = Keyset(("name", "id"))
TOKEN_ORDER = Keyset(("-created_at", "-id"))
PERSON_ORDER = Keyset(("display_name", "id"))


def me_for(user: User) -> User:
    """``user`` with what MeOut reads: sorted role names and memberships with their teams."""
    user.role_names = sorted(user.roles)  # type: ignore[attr-defined]
    user.my_memberships = list(  # type: ignore[attr-defined]
        TeamMembership.objects.filter(user=user).select_related("team").order_by("team__name")
    )
    return user


@router.get("me", response=with_errors({200: MeOut}, READ_ERRORS))
def get_me(request: HttpRequest) -> User:
    """Who I am: profile, roles and teams."""
    return me_for(acting_user(request))


@router.patch("me", response=with_errors({200: MeOut}, WRITE_ERRORS))
def update_me(request: HttpRequest, payload: MeUpdate) -> User:
    """Change my display name, department, site or time zone."""
    user = acting_user(request)
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    return me_for(actions.do_update_profile(user, user, **changes))


# --- Personal API tokens ------------------------------------------------------------------------


@router.get("me/tokens", response=with_errors({200: TokenPage}, READ_ERRORS))
def list_tokens(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict[str, Any]:
    """My API tokens, newest first (revoked ones included; secrets never)."""
    tokens = visible_to(acting_user(request), ApiToken.objects.all())
    return paginate(request, response, tokens, TOKEN_ORDER, page)


@router.post("me/tokens", response=with_errors({201: TokenCreated}, WRITE_ERRORS))
def create_token(request: HttpRequest, payload: TokenCreate) -> Status[dict[str, Any]]:
    """Create a token; its secret is in this answer and nowhere else, ever.

    Only a signed-in browser session may do this: a leaked token must not mint more tokens.
    """
    if request_token(request) is not None:
        raise Forbidden("API tokens can only be created from a signed-in session, not a token.")
    token, secret = actions.do_create_api_token(
        acting_user(request),
        name=payload.name,
        scope=payload.scope,
        expires_in_days=payload.expires_in_days,
    )
    return Status(201, {"token": token, "secret": secret})


@router.delete("me/tokens/{int:token_id}", response=with_errors({204: None}, WRITE_ERRORS))
def revoke_token(request: HttpRequest, token_id: ObjectId) -> Status[None]:
    """Revoke one of my tokens; it stops working at once."""
    actions.do_revoke_api_token(acting_user(request), token_id)
    return Status(204, None)


# --- Teams --------------------------------------------------------------------------------------


def visible_teams(user: User) -> QuerySet[Team]:
    return visible_to(user, Team.objects.annotate(member_count=Count("memberships")))


@router.get("teams", response=with_errors({200: TeamPage}, READ_ERRORS))
def list_teams(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict[str, Any]:
    """Teams (assignment groups), by name."""
    return paginate(request, response, visible_teams(acting_user(request)), TEAM_ORDER, page)


@router.get("teams/{slug}", response=with_errors({200: TeamDetailOut}, READ_ERRORS))
def get_team(request: HttpRequest, slug: str) -> Team:
    """A team and the members you may see."""
    return team_detail_for(acting_user(request), slug)


def team_detail_for(user: User, slug: str) -> Team:
    """A visible team with its member count and the memberships ``user`` may see."""
    members = (
        TeamMembership.objects.filter(user__in=visible_to(user, User.objects.all()))
        .select_related("user")
        .order_by("user__display_name", "user_id")
    )
    team = (
        visible_teams(user)
        .prefetch_related(Prefetch("memberships", queryset=members, to_attr="visible_memberships"))
        .filter(slug=slug)
        .first()
    )
    if team is None:
        raise NotFound("No such team.")
    return team


@router.post("teams", response=with_errors({201: TeamDetailOut}, WRITE_ERRORS))
def create_team(request: HttpRequest, payload: TeamCreate) -> Status[Team]:
    """Create a team (administrators)."""
    user = acting_user(request)
    team = actions.do_create_team(user, **payload.model_dump())
    return Status(201, team_detail_for(user, team.slug))


def _person_by_email(user: User, email: str) -> User:
    """A person named in a request body: unknown and invisible read the same."""
    person = visible_to(user, User.objects.all()).filter(email=email.strip().lower()).first()
    if person is None:
        raise ValidationFailed(f"There is no person with the email {email!r}.", field="email")
    return person


@router.post("teams/{slug}/members", response=with_errors({201: TeamMemberOut}, WRITE_ERRORS))
def add_team_member(
    request: HttpRequest, slug: str, payload: TeamMemberCreate
) -> Status[TeamMembership]:
    """Add a person to a team as a member or its lead (administrators)."""
    user = acting_user(request)
    if not can_manage_teams(user):
        raise Forbidden("Only administrators can change team membership.")
    team = team_for(user, slug)
    person = _person_by_email(user, payload.email)
    return Status(201, actions.do_add_team_member(user, team, person, role=payload.role))


@router.delete("teams/{slug}/members/{user_id}", response=with_errors({204: None}, WRITE_ERRORS))
def remove_team_member(request: HttpRequest, slug: str, user_id: ObjectId) -> Status[None]:
    """Take a person out of a team (administrators)."""
    # No {int:} converter here: a malformed id then gets a 422 problem from the schema instead
    # of falling through to URL patterns that may not match a slug with odd characters.
    user = acting_user(request)
    if not can_manage_teams(user):
        raise Forbidden("Only administrators can change team membership.")
    actions.do_remove_team_member(user, team_for(user, slug), person_for(user, user_id))
    return Status(204, None)


def team_for(user: User, slug: str) -> Team:
    team = visible_to(user, Team.objects.all()).filter(slug=slug).first()
    if team is None:
        raise NotFound("No such team.")
    return team


# --- People -------------------------------------------------------------------------------------


def people_with_roles(viewer: User, people: list[User]) -> list[User]:
    """Set what PersonOut reads: ``role_names`` from prefetched groups (no query per person)
    and ``shown_vip``, the VIP flag where the viewer may know it."""
    for person in people:
        person.role_names = sorted(group.name for group in person.groups.all())  # type: ignore[attr-defined]
        person.shown_vip = person.is_vip if can_see_vip_status(viewer, person) else None  # type: ignore[attr-defined]
    return people


def person_for(user: User, person_id: int) -> User:
    person = visible_to(user, User.objects.all()).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person


def person_detail(viewer: User, person: User) -> User:
    person = User.objects.prefetch_related("groups").get(pk=person.pk)
    people_with_roles(viewer, [person])
    person.my_memberships = list(  # type: ignore[attr-defined]
        TeamMembership.objects.filter(user=person).select_related("team").order_by("team__name")
    )
    return person


def search_people(people: QuerySet[User], text: str | None) -> QuerySet[User]:
    text = (text or "").strip()
    if not text:
        return people
    return people.filter(
        Q(display_name__icontains=text)
        | Q(email__icontains=text)
        | Q(department__icontains=text)
        | Q(site__icontains=text)
    )


@router.get("people", response=with_errors({200: PersonPage}, READ_ERRORS))
def list_people(
    request: HttpRequest, response: HttpResponse, filters: Query[PersonFilters]
) -> dict[str, Any]:
    """People you may see, by name; ``q`` searches name, email, department and site."""
    people = visible_to(acting_user(request), User.objects.prefetch_related("groups"))
    page = paginate(request, response, search_people(people, filters.q), PERSON_ORDER, filters)
    people_with_roles(acting_user(request), page["items"])
    return page


@router.get("people/{int:person_id}", response=with_errors({200: PersonDetailOut}, READ_ERRORS))
def get_person(request: HttpRequest, person_id: ObjectId) -> User:
    """A person's profile, roles and teams."""
    viewer = acting_user(request)
    return person_detail(viewer, person_for(viewer, person_id))


@router.post("people", response=with_errors({201: PersonDetailOut}, WRITE_ERRORS))
def create_person(request: HttpRequest, payload: PersonCreate) -> Status[User]:
    """Add a person (administrators); they get a mail to choose their password."""
    person = actions.do_invite_user(acting_user(request), **payload.model_dump())
    return Status(201, person_detail(acting_user(request), person))


@router.patch("people/{int:person_id}", response=with_errors({200: PersonDetailOut}, WRITE_ERRORS))
def update_person(request: HttpRequest, person_id: ObjectId, payload: PersonUpdate) -> User:
    """Change a person's profile, roles or whether they may sign in (administrators).

    All of it or none: the changes are made in one transaction.
    """
    user = acting_user(request)
    if not can_manage_people(user):
        raise Forbidden("Only administrators can change other people.")
    person = person_for(user, person_id)
    changes = payload.model_dump(exclude_unset=True)
    roles = changes.pop("roles", None)
    active = changes.pop("is_active", None)
    person = actions.do_update_person(user, person, profile=changes, roles=roles, active=active)
    return person_detail(user, person)
