"""The single sign-on configuration, read from ``django.conf.settings`` at call time."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from hashdesk.accounts.choices import Role


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    groups_claim: str
    role_map: tuple[tuple[str, str], ...]
    create_users: bool
    provider_name: str

    @property
    def manages_roles(self) -> bool:
        """With no role map the provider's groups are ignored and roles stay as administered."""
        return bool(self.role_map)

    def roles_for(self, groups: list[str]) -> list[str]:
        """The Hashdesk roles the provider's groups map to; everyone is at least a requester."""
        member_of = set(groups)
        roles = {role for group, role in self.role_map if group in member_of}
        roles.add(Role.REQUESTER)
        return sorted(roles)


def oidc_settings() -> OidcSettings | None:
    """The configuration, or None when single sign-on is off (no issuer set)."""
    issuer = settings.OIDC_ISSUER
    if not issuer:
        return None
    scopes = list(settings.OIDC_SCOPES)
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return OidcSettings(
        issuer=issuer,
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        scopes=tuple(scopes),
        groups_claim=settings.OIDC_GROUPS_CLAIM,
        role_map=tuple((str(pair[0]), str(pair[-1])) for pair in settings.OIDC_ROLE_MAP),
        create_users=settings.OIDC_CREATE_USERS,
        provider_name=settings.OIDC_PROVIDER_NAME or "single sign-on",
    )


def password_sign_in_allowed() -> bool:
    """False when the operator made single sign-on the only way in (and it is configured)."""
    return not (settings.OIDC_ONLY and oidc_settings() is not None)


@register()
def check_oidc_settings(**kwargs: object) -> list[CheckMessage]:
    """Refuse to start with a half or wrong configuration rather than fail at sign-in."""
    errors: list[CheckMessage] = []
    if not settings.OIDC_ISSUER:
        if settings.OIDC_ONLY:
            errors.append(Error("HASHDESK_OIDC_ONLY needs HASHDESK_OIDC_ISSUER", id="oidc.E001"))
        return errors
    if not settings.OIDC_ISSUER.startswith(("https://", "http://")):
        errors.append(Error("HASHDESK_OIDC_ISSUER must be an http(s) URL", id="oidc.E002"))
    elif settings.OIDC_ISSUER.startswith("http://") and settings.PRODUCTION:
        errors.append(Error("HASHDESK_OIDC_ISSUER must use https in production", id="oidc.E003"))
    if not settings.OIDC_CLIENT_ID or not settings.OIDC_CLIENT_SECRET:
        errors.append(
            Error(
                "HASHDESK_OIDC_CLIENT_ID and HASHDESK_OIDC_CLIENT_SECRET are required with "
                "HASHDESK_OIDC_ISSUER",
                id="oidc.E004",
            )
        )
    for pair in settings.OIDC_ROLE_MAP:
        if len(pair) != 2 or not pair[0] or pair[1] not in Role.values:
            errors.append(
                Error(
                    f"HASHDESK_OIDC_ROLE_MAP entry {'='.join(pair)!r} must read group=role, "
                    f"role one of {', '.join(Role.values)}",
                    id="oidc.E005",
                )
            )
    return errors
