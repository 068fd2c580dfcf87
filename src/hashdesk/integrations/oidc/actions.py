"""Signing a person in from verified ID token claims: link, create just in time, map roles,
keep the email address current.

Accounts are created and roles set through hashdesk.accounts.actions, so the same rules,
audit rows and events apply as when an administrator does it by hand.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.logging import get_logger
from hashdesk.integrations.oidc.config import OidcSettings
from hashdesk.integrations.oidc.models import OidcIdentity

log = get_logger(__name__)


def provider_groups(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _display_name(claims: dict[str, Any], email: str) -> str:
    for field in ("name", "preferred_username"):
        value = claims.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:150]
    given = " ".join(
        str(claims[f]).strip() for f in ("given_name", "family_name") if claims.get(f)
    ).strip()
    return (given or email.split("@")[0])[:150]


def _account_for(config: OidcSettings, claims: dict[str, Any], subject: str) -> User:
    """The account a first sign-in from this identity belongs to: found by a verified email,
    or created now; raises Forbidden (nothing written) when neither is allowed."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Forbidden("Your sign-in provider did not tell Hashdesk your email address.")
    # OpenID Connect Core §5.7: only a verified address may stand for a person here.
    if claims.get("email_verified") is not True:
        raise Forbidden(
            "Your sign-in provider has not verified your email address, so Hashdesk cannot "
            "match it to an account. Verify it there first."
        )
    address = email.strip().lower()
    user = User.objects.filter(email=address).first()
    if user is None:
        if not config.create_users:
            raise Forbidden(
                "There is no Hashdesk account for you yet; ask the service desk to add you."
            )
        roles = (
            config.roles_for(provider_groups(claims, config.groups_claim))
            if config.manages_roles
            else None
        )
        user = account_actions.do_create_user(
            None, email=address, display_name=_display_name(claims, address), roles=roles
        )
    elif OidcIdentity.objects.filter(issuer=config.issuer, user=user).exists():
        # Another person at the provider already signs in to this account: an address the
        # provider has given to someone new must not open the previous holder's account.
        raise Forbidden(
            "Your email address belongs to a Hashdesk account linked to someone else at your "
            "sign-in provider; ask the service desk."
        )
    if not user.may_sign_in:
        raise Forbidden("This account is deactivated; ask the service desk.")
    identity = OidcIdentity.objects.create(issuer=config.issuer, subject=subject, user=user)
    trail.record(
        actor=None,
        action="oidc.identity_link",
        obj=user,
        after={"issuer": identity.issuer, "subject": identity.subject},
    )
    return user


def _keep_email_current(config: OidcSettings, user: User, claims: dict[str, Any]) -> User:
    """The account's address follows the provider's when the provider has verified it and no
    other account holds it; otherwise the old one stays and an audit row says why."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return user
    address = email.strip().lower()
    if address == user.email:
        return user
    reason = ""
    if claims.get("email_verified") is not True:
        reason = "unverified"  # OpenID Connect Core §5.7
    elif User.objects.filter(email=address).exclude(pk=user.pk).exists():
        reason = "taken"
    else:
        try:
            return account_actions.do_change_email(None, user, address)
        except (Conflict, ValidationFailed) as exc:
            reason = "taken" if isinstance(exc, Conflict) else "invalid"
    log.info("oidc.email_kept", reason=reason, user_id=user.pk)
    trail.record(
        actor=None,
        action="oidc.email_kept",
        obj=user,
        before={"email": user.email},
        after={"provider_email": address, "reason": reason, "issuer": config.issuer},
    )
    return user


@transaction.atomic
def do_sign_in_with_provider(config: OidcSettings, claims: dict[str, Any]) -> User:
    """The account verified ``claims`` sign in to, with its roles brought in line with the
    provider's groups. The caller has validated the ID token; the caller logs the person in."""
    subject = str(claims["sub"])
    identity = (
        OidcIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=config.issuer, subject=subject)
        .first()
    )
    if identity is None:
        user = _account_for(config, claims, subject)
    else:
        user = identity.user
        if not user.may_sign_in:
            raise Forbidden("This account is deactivated; ask the service desk.")
        user = _keep_email_current(config, user, claims)
    if config.manages_roles:
        wanted = config.roles_for(provider_groups(claims, config.groups_claim))
        current = sorted(user.groups.values_list("name", flat=True))
        if current != wanted:
            user = account_actions.do_set_roles(None, user, wanted)
    OidcIdentity.objects.filter(issuer=config.issuer, subject=subject).update(
        last_sign_in_at=timezone.now()
    )
    account_actions.record_sign_in_success(user)
    return user
