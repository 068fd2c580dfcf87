"""Email sign-in with lock-out after repeated failures."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from hashdesk.accounts.models import User


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
