"""People, teams and personal API tokens."""

from __future__ import annotations

import zoneinfo
from functools import cache, cached_property

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from hashdesk.accounts.choices import STAFF_ROLES, AccountKind, Role, TeamRole, TokenScope


@cache
def known_time_zones() -> frozenset[str]:
    # Reading the zone database walks the filesystem (tens of milliseconds): do it once.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(f"{value!r} is not a known time zone")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        if not email:
            raise ValueError("A person needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.setdefault("is_superuser", True)
        fields.setdefault("is_staff", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address, or (``kind`` integration) the account
    an integration posts as, which is no person: see ``core.visibility.person_condition``."""

    email = models.EmailField(unique=True, max_length=254)
    display_name = models.CharField(max_length=150)
    department = models.CharField(max_length=100, blank=True)
    site = models.CharField(max_length=100, blank=True)
    is_vip = models.BooleanField(default=False, help_text="Counts more when impact is scored.")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)
    # Django admin access (administrators only); domain permissions come from roles.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    failed_sign_ins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=AccountKind.choices, default=AccountKind.PERSON)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [models.Index(fields=["department"]), models.Index(fields=["site"])]

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name.split(" ")[0] if self.display_name else self.email

    @cached_property
    def roles(self) -> frozenset[str]:
        """Role names, loaded once per instance (one query) and reused by every check."""
        return frozenset(self.groups.values_list("name", flat=True))

    def has_role(self, role: Role | str) -> bool:
        return self.is_superuser or str(role) in self.roles

    @property
    def is_service_desk_staff(self) -> bool:
        """Works in the service desk: may see internal records and work notes."""
        return self.is_superuser or bool(self.roles & {str(r) for r in STAFF_ROLES})

    @property
    def is_person(self) -> bool:
        """Not an integration's account: may be listed, notified and signed in to."""
        return self.kind == AccountKind.PERSON

    @property
    def may_sign_in(self) -> bool:
        """What every sign-in path (password, session, OpenID Connect, tokens) asks."""
        return self.is_active and self.is_person

    def is_locked(self, now: object | None = None) -> bool:
        moment = now or timezone.now()
        return self.locked_until is not None and self.locked_until > moment  # type: ignore[operator]


class Team(models.Model):
    """An assignment group: incidents, problems and changes are routed to teams."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    members: models.ManyToManyField[User, TeamMembership] = models.ManyToManyField(
        User, through="TeamMembership", related_name="teams"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=TeamRole.choices, default=TeamRole.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_team_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # Public part of the token, used to find the row without scanning hashes.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: object | None = None) -> bool:
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment  # type: ignore[operator]

    @property
    def allows_write(self) -> bool:
        return self.scope == TokenScope.WRITE
