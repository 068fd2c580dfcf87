"""Account endpoints: my profile, my API tokens, teams."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from hashdesk.accounts import actions
from hashdesk.accounts.models import ApiToken, Team, TeamMembership, User
from hashdesk.accounts.schemas import (
    MeOut,
    MeUpdate,
    TeamDetailOut,
    TeamPage,
    TokenCreate,
    TokenCreated,
    TokenPage,
)
from hashdesk.api.auth import acting_user, request_token
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to

router = Router(tags=["accounts"])

TEAM_ORDER = Keyset(("name", "id"))
TOKEN_ORDER = Keyset(("-created_at", "-id"))


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
    user = acting_user(request)
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
