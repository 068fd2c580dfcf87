"""One sign-in attempt as the sign-in page sees it, without revealing which accounts exist.

The account lock-out itself lives in :mod:`hashdesk.accounts.actions`
(``record_sign_in_failure``): after ``SIGN_IN_MAX_FAILURES`` failures an account is locked for
``SIGN_IN_LOCKOUT_MINUTES``. Telling people "too many attempts, try again in N minutes" is kind to
someone who mistyped, but told only for real accounts it would confirm to an attacker that an
address has an account. So addresses without an account get the same treatment from a
"shadow" counter kept in the cache (shared by every process): after the same number of failures
they read the same lock message for the same time. Everything else reads one generic message.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from hashdesk.accounts.actions import record_sign_in_failure, record_sign_in_success
from hashdesk.accounts.models import User

# Forget a shadow failure count after a day without attempts.
SHADOW_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SignInOutcome:
    user: User | None = None
    locked_until: datetime | None = None

    @property
    def locked_minutes(self) -> int:
        """Whole minutes until the lock ends (at least 1), for the message."""
        if self.locked_until is None:
            return 0
        seconds = (self.locked_until - timezone.now()).total_seconds()
        return max(1, math.ceil(seconds / 60))


def _shadow_key(address: str) -> str:
    return "sign-in-shadow:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _shadow_failure(address: str) -> datetime | None:
    """Count a failure for an address without an account; its lock end when it is "locked"."""
    key = _shadow_key(address)
    now = timezone.now()
    state = cache.get(key) or {"failures": 0, "locked_until": None}
    locked_until = state.get("locked_until")
    if locked_until is not None and locked_until > now:
        return locked_until
    failures = int(state.get("failures", 0)) + 1
    if failures >= settings.SIGN_IN_MAX_FAILURES:
        state = {
            "failures": 0,
            "locked_until": now + timedelta(minutes=settings.SIGN_IN_LOCKOUT_MINUTES),
        }
    else:
        state = {"failures": failures, "locked_until": None}
    cache.set(key, state, timeout=SHADOW_TTL_SECONDS)
    return state["locked_until"]


def attempt_sign_in(request: HttpRequest, *, email: str, password: str) -> SignInOutcome:
    """Check the credentials and record the outcome; the caller logs the person in on success."""
    address = email.strip().lower()
    user = authenticate(request, email=address, password=password)
    if isinstance(user, User):
        record_sign_in_success(user)
        return SignInOutcome(user=user)
    account = record_sign_in_failure(address)
    if account is None:
        return SignInOutcome(locked_until=_shadow_failure(address))
    if account.is_locked():
        return SignInOutcome(locked_until=account.locked_until)
    return SignInOutcome()
