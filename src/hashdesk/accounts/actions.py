"""Every change to people, roles, teams, sign-in state and API tokens.

``check_*`` functions validate and raise domain errors; ``do_*`` functions write inside one
transaction together with their audit rows and events. Views, the API, the CLI and the demo
loader all call these; none of them saves an account model itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from hashdesk.accounts import tokens
from hashdesk.accounts.choices import AccountKind, Role, TeamRole, TokenScope
from hashdesk.accounts.events import ApiTokenEvent, TeamEvent
from hashdesk.accounts.models import ApiToken, Team, TeamMembership, User
from hashdesk.audit import trail
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.validation import full_clean_or_fail, require_text
from hashdesk.core.visibility import can_manage_people, can_manage_teams

PROFILE_FIELDS = ("display_name", "department", "site", "is_vip", "time_zone")
# Fields a person may change on their own profile (VIP status is set by administrators).
SELF_EDITABLE_FIELDS = ("display_name", "department", "site", "time_zone")


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "department": user.department,
        "site": user.site,
        "is_vip": user.is_vip,
        "time_zone": user.time_zone,
        "is_active": user.is_active,
    }


def check_roles(roles: list[str]) -> list[str]:
    valid = set(Role.values)
    unknown = [r for r in roles if r not in valid]
    if unknown:
        raise ValidationFailed(
            f"Unknown role {unknown[0]!r}; roles are {', '.join(Role.values)}.", field="roles"
        )
    return sorted(set(roles))


def _require(allowed: bool, detail: str) -> None:
    if not allowed:
        raise Forbidden(detail)


# --- People ---------------------------------------------------------------------------------


@transaction.atomic
def do_create_user(
    actor: User | None,
    *,
    email: str,
    display_name: str,
    department: str = "",
    site: str = "",
    is_vip: bool = False,
    time_zone: str = "UTC",
    password: str | None = None,
    password_hash: str | None = None,
    roles: list[str] | None = None,
    kind: str = AccountKind.PERSON,
) -> User:
    """Create a person. ``actor`` None means the system (demo loader, CLI).

    ``kind`` integration makes the account an integration posts as (a Slack hook's, an
    Alertmanager receiver's): never listed as a person, never signed in to, never notified,
    so it has no password either."""
    if actor is not None:
        _require(can_manage_people(actor), "Only administrators can add people.")
    if kind not in AccountKind.values:
        raise ValidationFailed(f"Unknown kind of account {kind!r}.", field="kind")
    if kind == AccountKind.INTEGRATION and (password or password_hash):
        raise ValidationFailed("An integration's account has no password.", field="password")
    address = require_text(email, field="email", max_length=254).lower()
    if User.objects.filter(email=address).exists():
        raise Conflict(f"A person with the email {address} already exists.", field="email")
    user = User(
        email=address,
        display_name=require_text(display_name, field="display_name", max_length=150),
        department=require_text(department, field="department", max_length=100, allow_blank=True),
        site=require_text(site, field="site", max_length=100, allow_blank=True),
        is_vip=is_vip,
        time_zone=time_zone or "UTC",
        kind=kind,
    )
    if password_hash:
        user.password = password_hash
    elif password:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    full_clean_or_fail(user, exclude=["password", "last_login"])
    user.save()
    role_names = check_roles(list(roles or [Role.REQUESTER]))
    user.groups.set(Group.objects.filter(name__in=role_names))
    trail.record(
        actor=actor,
        action="user.create",
        obj=user,
        after={**user_snapshot(user), "roles": role_names, "kind": user.kind},
    )
    return user


@transaction.atomic
def do_invite_user(actor: User | None, **fields: Any) -> User:
    """Create a person who chooses their own password through the reset mail sent now.

    The account gets a random password nobody knows rather than an unusable one, because the
    reset flow (like Django's) refuses accounts without a usable password.
    """
    user = do_create_user(actor, password_hash=make_password(get_random_string(48)), **fields)
    do_request_password_reset(user.email)
    return user


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password") from exc


@transaction.atomic
def do_update_profile(actor: User, user: User, **changes: Any) -> User:
    """Change profile fields. People edit their own; administrators edit anyone's (and VIP)."""
    editing_self = actor.pk == user.pk
    allowed = set(PROFILE_FIELDS) if can_manage_people(actor) else set()
    if editing_self:
        allowed |= set(SELF_EDITABLE_FIELDS)
    _require(bool(allowed), "You cannot change this person's profile.")
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    refused = set(changes) - allowed
    if refused:
        raise Forbidden(f"You cannot change {sorted(refused)[0].replace('_', ' ')}.")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user_snapshot(user)
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(user, field, value)
    full_clean_or_fail(user, exclude=["password", "last_login", "email"])
    user.save(update_fields=list(changes))
    trail.record(
        actor=actor, action="user.update", obj=user, before=before, after=user_snapshot(user)
    )
    return user


@transaction.atomic
def do_update_person(
    actor: User,
    person: User,
    *,
    profile: dict[str, Any] | None = None,
    roles: list[str] | None = None,
    active: bool | None = None,
) -> User:
    """An administrator's edit of a person: profile, roles and whether they may sign in, all
    or nothing (the page and the API both call this)."""
    _require(can_manage_people(actor), "Only administrators can change other people.")
    if not profile and roles is None and active is None:
        raise ValidationFailed("Send at least one field to change.")
    if profile:
        person = do_update_profile(actor, person, **profile)
    if roles is not None:
        person = do_set_roles(actor, person, roles)
    if active is not None and active != person.is_active:
        person = do_set_active(actor, person, active=active)
    return person


@transaction.atomic
def do_change_email(actor: User | None, user: User, email: str) -> User:
    """Give a person a new email address (their sign-in name). ``actor`` None means the
    system: single sign-on bringing the address in line with the provider's verified one."""
    if actor is not None:
        _require(can_manage_people(actor), "Only administrators can change email addresses.")
    address = require_text(email, field="email", max_length=254).lower()
    user = User.objects.select_for_update().get(pk=user.pk)
    if address == user.email:
        return user
    if User.objects.filter(email=address).exclude(pk=user.pk).exists():
        raise Conflict(f"A person with the email {address} already exists.", field="email")
    before = user.email
    user.email = address
    full_clean_or_fail(user, exclude=["password", "last_login"])
    user.save(update_fields=["email"])
    trail.record(
        actor=actor,
        action="user.email_change",
        obj=user,
        before={"email": before},
        after={"email": address},
    )
    return user


@transaction.atomic
def do_set_roles(actor: User | None, user: User, roles: list[str]) -> User:
    if actor is not None:
        _require(can_manage_people(actor), "Only administrators can change roles.")
    role_names = check_roles(roles)
    if actor is not None and actor.pk == user.pk and Role.ADMINISTRATOR not in role_names:
        # Keeps an installation from locking itself out of administration by accident.
        raise ValidationFailed("You cannot remove your own administrator role.", field="roles")
    before = sorted(user.groups.values_list("name", flat=True))
    user.groups.set(Group.objects.filter(name__in=role_names))
    user.__dict__.pop("roles", None)
    trail.record(
        actor=actor,
        action="user.roles",
        obj=user,
        before={"roles": before},
        after={"roles": role_names},
    )
    return user


@transaction.atomic
def do_set_active(actor: User, user: User, *, active: bool) -> User:
    _require(can_manage_people(actor), "Only administrators can deactivate people.")
    if actor.pk == user.pk and not active:
        raise ValidationFailed("You cannot deactivate yourself.", field="is_active")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user.is_active
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        # Deactivation ends API access at once.
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    trail.record(
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        obj=user,
        before={"is_active": before},
        after={"is_active": active},
    )
    return user


@transaction.atomic
def do_change_password(
    actor: User, user: User, *, current_password: str | None, new_password: str
) -> User:
    """A person changes their own password (knowing the current one)."""
    _require(actor.pk == user.pk, "People change only their own password.")
    if not user.check_password(current_password or ""):
        raise ValidationFailed("The current password is not correct.", field="current_password")
    return _set_password(actor, user, new_password, action="user.password_change")


def _set_password(actor: User | None, user: User, new_password: str, *, action: str) -> User:
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.failed_sign_ins = 0
    user.locked_until = None
    user.save(update_fields=["password", "failed_sign_ins", "locked_until"])
    trail.record(actor=actor, action=action, obj=user)
    return user


# --- Sign-in and password reset -------------------------------------------------------------


@transaction.atomic
def record_sign_in_failure(email: str) -> User | None:
    """Count a failed sign-in; lock the account for a while after too many in a row."""
    user = User.objects.select_for_update().filter(email=email.strip().lower()).first()
    if user is None:
        return None
    now = timezone.now()
    if user.is_locked(now):
        return user
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= settings.SIGN_IN_MAX_FAILURES:
        user.locked_until = now + timedelta(minutes=settings.SIGN_IN_LOCKOUT_MINUTES)
        user.failed_sign_ins = 0
        user.save(update_fields=["failed_sign_ins", "locked_until"])
        trail.record(
            actor=None,
            action="user.locked",
            obj=user,
            after={"locked_until": user.locked_until.isoformat()},
        )
    else:
        user.save(update_fields=["failed_sign_ins"])
    return user


@transaction.atomic
def record_sign_in_success(user: User) -> None:
    User.objects.filter(pk=user.pk).update(
        failed_sign_ins=0, locked_until=None, last_login=timezone.now()
    )
    trail.record(actor=user, action="user.sign_in", obj=user)


def password_reset_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password-reset-confirm", kwargs={"uidb64": uid, "token": token})
    return f"{settings.PUBLIC_URL}{path}"


@transaction.atomic
def do_request_password_reset(email: str) -> bool:
    """Queue a reset mail through the outbox. Returns whether a mail was queued.

    The caller tells the person the same thing either way, so the answer does not reveal
    which addresses have accounts.
    """
    from hashdesk.core.outbox import enqueue

    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None or not user.is_person or not user.has_usable_password():
        return False
    context = {"user": user, "link": password_reset_link(user), "public_url": settings.PUBLIC_URL}
    enqueue(
        "email",
        {
            "to": [user.email],
            "subject": "Reset your Hashdesk password",
            "text": render_to_string("accounts/email/password_reset.txt", context),
            "html": render_to_string("accounts/email/password_reset.html", context),
        },
        key=f"password-reset:{user.pk}:{timezone.now().timestamp()}",
    )
    trail.record(actor=None, action="user.password_reset_requested", obj=user)
    return True


@transaction.atomic
def do_reset_password(user: User, *, token: str, new_password: str) -> User:
    if not default_token_generator.check_token(user, token):
        raise ValidationFailed(
            "This reset link is invalid or has expired; ask for a new one.", field="token"
        )
    return _set_password(None, user, new_password, action="user.password_reset")


# --- API tokens -----------------------------------------------------------------------------


def token_summary(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked": token.revoked_at is not None,
    }


@transaction.atomic
def do_create_api_token(
    actor: User, *, name: str, scope: str = TokenScope.READ, expires_in_days: int | None = 90
) -> tuple[ApiToken, str]:
    """Create a personal token; returns it and the raw secret, which is never stored."""
    label = require_text(name, field="name", max_length=100)
    if scope not in TokenScope.values:
        raise ValidationFailed("Scope must be 'read' or 'write'.", field="scope")
    if expires_in_days is not None and not 1 <= expires_in_days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationFailed(
            f"Expiry must be between 1 and {settings.API_TOKEN_MAX_DAYS} days.",
            field="expires_in_days",
        )
    raw, prefix, secret_hash = tokens.generate()
    token = ApiToken.objects.create(
        user=actor,
        name=label,
        prefix=prefix,
        secret_hash=secret_hash,
        scope=scope,
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    trail.record(actor=actor, action="api_token.create", obj=token, after=token_summary(token))
    send_event(
        ApiTokenEvent(op="create", token=token_summary(token)), streams=[streams.user(actor.pk)]
    )
    from hashdesk.notify.actions import do_notify

    do_notify(
        actor,
        kind="account.token_created",
        title=f"API token “{label}” was created",
        body=f"Scope: {token.get_scope_display()}. Revoke it if it was not you.",
        url=reverse("accounts:tokens"),
    )
    return token, raw


@transaction.atomic
def do_revoke_api_token(actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    trail.record(actor=actor, action="api_token.revoke", obj=token, after=token_summary(token))
    send_event(
        ApiTokenEvent(op="revoke", token=token_summary(token)), streams=[streams.user(actor.pk)]
    )
    return token


# --- Teams ------------------------------------------------------------------------------------


def team_summary(team: Team) -> dict[str, Any]:
    return {"id": team.pk, "name": team.name, "slug": team.slug, "email": team.email}


@transaction.atomic
def do_create_team(
    actor: User | None, *, name: str, slug: str = "", description: str = "", email: str = ""
) -> Team:
    if actor is not None:
        _require(can_manage_teams(actor), "Only administrators can create teams.")
    label = require_text(name, field="name", max_length=100)
    team = Team(
        name=label,
        slug=(slug or slugify(label))[:100],
        description=description.strip(),
        email=email.strip(),
    )
    if Team.objects.filter(name__iexact=label).exists():
        raise Conflict(f"A team named {label} already exists.", field="name")
    full_clean_or_fail(team)
    team.save()
    trail.record(actor=actor, action="team.create", obj=team, after=team_summary(team))
    send_event(TeamEvent(op="create", team=team_summary(team)), streams=[streams.MEMBERS])
    return team


@transaction.atomic
def do_add_team_member(
    actor: User | None, team: Team, user: User, *, role: str = TeamRole.MEMBER
) -> TeamMembership:
    if actor is not None:
        _require(can_manage_teams(actor), "Only administrators can change team membership.")
    if role not in TeamRole.values:
        raise ValidationFailed("Team role must be 'member' or 'lead'.", field="role")
    if TeamMembership.objects.filter(team=team, user=user).exists():
        raise Conflict(f"{user} is already in {team}.", field="user")
    membership = TeamMembership.objects.create(team=team, user=user, role=role)
    trail.record(
        actor=actor,
        action="team.member_add",
        obj=team,
        after={"user": user.email, "role": role},
    )
    send_event(
        TeamEvent(op="member_add", team=team_summary(team), user_id=user.pk),
        streams=[streams.team(team.pk), streams.user(user.pk)],
    )
    return membership


@transaction.atomic
def do_remove_team_member(actor: User | None, team: Team, user: User) -> None:
    if actor is not None:
        _require(can_manage_teams(actor), "Only administrators can change team membership.")
    deleted, _ = TeamMembership.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise NotFound(f"{user} is not in {team}.")
    trail.record(actor=actor, action="team.member_remove", obj=team, before={"user": user.email})
    send_event(
        TeamEvent(op="member_remove", team=team_summary(team), user_id=user.pk),
        streams=[streams.team(team.pk), streams.user(user.pk)],
    )
