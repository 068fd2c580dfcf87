"""The addresses of the authorization-code flow (off to the provider, and back) and of the
way back from signing out at the provider.

``login`` remembers a random ``state``, ``nonce`` and PKCE verifier in the session (several
at once, so two tabs may sign in together) and sends the browser to the provider. ``callback``
takes the matching flow out of the session (each is used once), exchanges the code with the
verifier, validates the ID token and signs the person in the way the password sign-in does:
``django.contrib.auth.login`` (a new session key) and a ``user.sign_in`` audit row. Every
refusal lands on the sign-in page with a message and writes nothing. ``signed_out`` is where
the provider sends the browser back after signing out there (sign_out.py).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hashdesk.core import ratelimit
from hashdesk.core.errors import DomainError, RateLimited
from hashdesk.core.logging import get_logger
from hashdesk.integrations.oidc import flow as oauth
from hashdesk.integrations.oidc import provider
from hashdesk.integrations.oidc.actions import do_sign_in_with_provider
from hashdesk.integrations.oidc.config import OidcSettings, oidc_settings
from hashdesk.integrations.oidc.id_token import validate_id_token
from hashdesk.integrations.oidc.provider import OidcRefused
from hashdesk.integrations.oidc.sign_out import ID_TOKEN_SESSION_KEY, state_is_ours
from hashdesk.web.requests import client_address, safe_next

log = get_logger(__name__)

SESSION_KEY = "_oidc_flows"
# A flow not finished within this time is forgotten (the person started over or gave up).
FLOW_MAX_AGE_SECONDS = 600
FLOWS_KEPT = 4
LOGIN_BACKEND = "hashdesk.accounts.backends.EmailBackend"
STALE = "This sign-in attempt is no longer valid; please sign in again."


def local_next(request: HttpRequest, candidate: str | None) -> str | None:
    """Where to go after signing in: a path on this site only (no scheme, no host)."""
    target = safe_next(request, candidate)
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _refuse(request: HttpRequest, message: str, *, reason: str) -> HttpResponse:
    log.info("oidc.sign_in_refused", reason=reason)
    messages.error(request, message)
    return redirect("accounts:sign-in")


def _config_or_404() -> OidcSettings:
    config = oidc_settings()
    if config is None:
        raise Http404("Single sign-on is not configured.")
    return config


def _rate_limited(request: HttpRequest) -> bool:
    try:
        ratelimit.hit("sign-in", client_address(request))
    except RateLimited:
        return True
    return False


@never_cache
@require_GET
def login(request: HttpRequest) -> HttpResponse:
    config = _config_or_404()
    if _rate_limited(request):
        return _refuse(
            request,
            "Too many sign-in attempts from your network. Try again shortly.",
            reason="rate_limited",
        )
    try:
        metadata = provider.metadata(config)
    except OidcRefused as exc:
        return _refuse(request, str(exc), reason="discovery")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43 to 128
    now = time.time()
    flows: dict[str, dict[str, Any]] = {
        key: flow
        for key, flow in (request.session.get(SESSION_KEY) or {}).items()
        if now - flow.get("started", 0) < FLOW_MAX_AGE_SECONDS
    }
    flows[state] = {
        "nonce": nonce,
        "verifier": verifier,
        "next": local_next(request, request.GET.get("next")) or "",
        "started": now,
    }
    newest = sorted(flows.items(), key=lambda item: item[1]["started"])[-FLOWS_KEPT:]
    request.session[SESSION_KEY] = dict(newest)
    return redirect(
        oauth.authorization_url(config, metadata, state=state, nonce=nonce, verifier=verifier)
    )


def _provider_error(code: str) -> str:
    if code == "access_denied":
        return "The sign-in was cancelled or refused at the sign-in provider."
    # The provider's free-text description is not shown: anyone can put text in this URL.
    shown = code if re.fullmatch(r"[a-z_]{1,40}", code) else "unknown"
    return f"The sign-in provider reported an error ({shown}); please try again."


def _take_flow(request: HttpRequest, state: str) -> dict[str, Any] | None:
    flows = dict(request.session.get(SESSION_KEY) or {})
    flow = flows.pop(state, None) if state else None
    request.session[SESSION_KEY] = flows
    if not isinstance(flow, dict) or time.time() - flow.get("started", 0) > FLOW_MAX_AGE_SECONDS:
        return None
    return flow


def _with_userinfo(
    config: OidcSettings, metadata: dict[str, Any], token: dict[str, Any], claims: dict[str, Any]
) -> dict[str, Any]:
    """Claims the ID token left out (some providers put email or groups only in userinfo).
    The ID token's own claims always win."""
    wanted = {"email", "email_verified", "name"}
    if config.manages_roles:
        wanted.add(config.groups_claim)
    if wanted <= claims.keys():
        return claims
    info = oauth.userinfo(metadata, token)
    # Core §5.3.2: userinfo about someone else must not be used.
    if info.get("sub") != claims["sub"]:
        return claims
    return {**{k: v for k, v in info.items() if k in wanted}, **claims}


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    config = _config_or_404()
    if _rate_limited(request):
        return _refuse(
            request,
            "Too many sign-in attempts from your network. Try again shortly.",
            reason="rate_limited",
        )
    flow = _take_flow(request, request.GET.get("state", ""))
    if flow is None:
        return _refuse(request, STALE, reason="state")
    if request.GET.get("error"):
        return _refuse(request, _provider_error(request.GET["error"]), reason="provider_error")
    code = request.GET.get("code", "")
    if not code:
        return _refuse(request, STALE, reason="no_code")
    try:
        metadata = provider.metadata(config)
        token = oauth.exchange_code(config, metadata, code=code, verifier=flow["verifier"])
        claims = validate_id_token(
            token["id_token"], config=config, metadata=metadata, nonce=flow["nonce"]
        )
        claims = _with_userinfo(config, metadata, token, claims)
    except OidcRefused as exc:
        return _refuse(request, str(exc), reason="token")
    try:
        user = do_sign_in_with_provider(config, claims)
    except DomainError as exc:
        return _refuse(request, exc.detail, reason="account")
    auth_login(request, user, backend=LOGIN_BACKEND)  # also gives the session a new key
    # For signing out at the provider later (sign_out.py); kept in the session only.
    request.session[ID_TOKEN_SESSION_KEY] = token["id_token"]
    return redirect(flow["next"] or settings.LOGIN_REDIRECT_URL)


@never_cache
@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    """The provider's way back after signing out there (``post_logout_redirect_uri``)."""
    if state_is_ours(request.GET.get("state", "")):
        log.info("oidc.signed_out_at_provider")
    return redirect("accounts:sign-in")
