"""Changes the Mastodon API makes of its own: registering an app (``POST /api/v1/apps``), and a
person taking back an app's access (their "connected apps" page).

Everything else the API does goes through the wall's actions (wall.actions): posting,
deleting, favouriting, so their rules, events, audit rows and rate limits all apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import ratelimit
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.integrations.mastodon.models import AppRegistration
from hashdesk.integrations.mastodon.tokens import SCOPES

OOB = "urn:ietf:wg:oauth:2.0:oob"
NAME_MAX = 255
REDIRECT_URIS_MAX = 10
REDIRECT_URI_MAX = 2000
# Schemes a browser would run or read from instead of handing the code to an app.
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "about"})
# Plain http only back to the device itself (RFC 8252 section 7.3, native apps' loopback).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def redirect_scheme_allowed(uri: str) -> bool:
    """Whether a code may be sent to ``uri``: https, an app's own scheme (``myapp://``), or
    http to a loopback address; never a scheme a browser would run."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme or scheme in FORBIDDEN_SCHEMES:
        return False
    if scheme == "http":
        return (parts.hostname or "") in LOOPBACK_HOSTS
    if scheme == "https":
        return bool(parts.hostname)
    return True


@dataclass(frozen=True)
class NewApp:
    application: Application
    registration: AppRegistration
    # Shown once, in the answer to the registration; only its hash is stored.
    client_secret: str


def _redirect_uris(text: str) -> list[str]:
    uris = list(dict.fromkeys(text.split()))
    if not uris:
        raise ValidationFailed("Redirect URI can't be blank", field="redirect_uris")
    if len(uris) > REDIRECT_URIS_MAX:
        raise ValidationFailed(f"At most {REDIRECT_URIS_MAX} redirect URIs", field="redirect_uris")
    for uri in uris:
        if uri == OOB:
            continue
        if len(uri) > REDIRECT_URI_MAX or "#" in uri or not redirect_scheme_allowed(uri):
            raise ValidationFailed(
                "Redirect URI must be an absolute https URI, an app's own scheme, "
                "or http to a loopback address.",
                field="redirect_uris",
            )
    return uris


def _scopes(text: str) -> list[str]:
    scopes = list(dict.fromkeys(text.split())) or ["read"]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValidationFailed(f"Scopes are invalid: {' '.join(unknown)[:200]}", field="scopes")
    return scopes


def _website(text: str) -> str:
    website = text.strip()
    if not website:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(website)
    except ValidationError as exc:
        raise ValidationFailed("Website is invalid", field="website") from exc
    if len(website) > 500:
        raise ValidationFailed("Website is too long", field="website")
    return website


def do_register_app(
    *, client_name: str, redirect_uris: str, scopes: str = "", website: str = "", ip: str
) -> NewApp:
    """Register a Mastodon app: an OAuth client with a hashed secret and its scopes.

    Anyone may register (as on Mastodon), so it is rate limited per address; no person is
    attached to the client until someone authorizes it.
    """
    ratelimit.hit("mastodon_apps", ip)
    name = (client_name or "").strip()
    if not name:
        raise ValidationFailed("Application name can't be blank", field="client_name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Application name is too long (maximum is {NAME_MAX})")
    uris = _redirect_uris(redirect_uris or "")
    granted = _scopes(scopes or "")
    site = _website(website or "")
    secret = generate_client_secret()
    with transaction.atomic():
        application = Application(
            name=name,
            client_id=generate_client_id(),
            client_secret=secret,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(uris),
            hash_client_secret=True,
            skip_authorization=False,
        )
        application.save()
        registration = AppRegistration.objects.create(
            application=application, scopes=" ".join(granted), website=site
        )
        trail.record(
            actor=None,
            action="mastodon.app_registered",
            obj=application,
            after={"name": name, "redirect_uris": uris, "scopes": granted, "website": site},
        )
    return NewApp(application, registration, secret)


def redirect_uri_list(application: Application) -> Sequence[str]:
    return application.redirect_uris.split()


# --- The apps a person has let in ----------------------------------------------------------------


@dataclass(frozen=True)
class ConnectedApp:
    """An app holding live tokens for a person, as their "connected apps" page lists it."""

    application: Application
    website: str
    scopes: list[str]
    first_authorized_at: datetime
    last_authorized_at: datetime
    tokens: int


def connected_apps(person: User) -> list[ConnectedApp]:
    """Apps with an unexpired access token of ``person``, most recently authorized first (one
    query)."""
    by_app: dict[int, list[AccessToken]] = {}
    live = (
        AccessToken.objects.filter(user=person, expires__gt=timezone.now())
        .select_related("application__mastodon_registration")
        .order_by("created")
    )
    for token in live:
        if token.application_id is not None:
            by_app.setdefault(token.application_id, []).append(token)
    apps = []
    for tokens in by_app.values():
        application = tokens[0].application
        registration = getattr(application, "mastodon_registration", None)
        scopes = sorted({scope for token in tokens for scope in token.scope.split()})
        apps.append(
            ConnectedApp(
                application=application,
                website=registration.website if registration else "",
                scopes=scopes,
                first_authorized_at=tokens[0].created,
                last_authorized_at=tokens[-1].created,
                tokens=len(tokens),
            )
        )
    return sorted(apps, key=lambda app: app.last_authorized_at, reverse=True)


@transaction.atomic
def do_disconnect_app(person: User, application_id: int) -> int:
    """Take back every token and unused code ``person`` gave an app; the app must ask again.

    Returns how many access tokens were revoked; an app that holds none of the person's tokens
    is not found (nothing else is disclosed about it).
    """
    access = AccessToken.objects.filter(user=person, application_id=application_id)
    application = Application.objects.filter(pk=application_id).first()
    count = access.count()
    if application is None or not count:
        raise NotFound("This app has no access to your account.")
    RefreshToken.objects.filter(user=person, application_id=application_id).delete()
    Grant.objects.filter(user=person, application_id=application_id).delete()
    access.delete()
    trail.record(
        actor=person,
        action="mastodon.app_disconnected",
        obj=application,
        after={"name": application.name, "tokens": count},
    )
    return count
