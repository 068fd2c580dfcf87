"""Email sign-in with lock-out after repeated failures, and permissions from roles.

Only people sign in: an inactive account or an integration's (``User.may_sign_in``) is refused
at sign-in and its session, if it had one, no longer authenticates.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from hashdesk.accounts.models import User
from hashdesk.accounts.roles import role_permissions


class EmailBackend(ModelBackend):
    """Authenticates by case-insensitive email; a locked account never authenticates."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        address = (email or username or "").strip().lower()
        if not address or not password:
            return None
        try:
            user = User.objects.get(email=address)
        except User.DoesNotExist:
            # Spend the same time as a real check so response times do not reveal accounts.
            User().set_password(password)
            return None
        if user.is_locked():
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user: Any) -> bool:
        # Asked at sign-in and again for the session on every request (ModelBackend.get_user):
        # an integration's account is refused both, whatever its password.
        return bool(getattr(user, "may_sign_in", False))

    # Permissions: Hashdesk grants them only through roles (accounts/roles.py), whose groups are
    # reset to ROLE_PERMISSIONS after every migrate, so the role names the person already has
    # loaded (User.roles) answer every check without the two permission queries per request
    # Django's ModelBackend makes. Per-person permissions are not a feature: none are granted.

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return role_permissions(user_obj.roles)
