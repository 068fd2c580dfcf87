"""OAuth 2 for Mastodon apps: registration, consent, tokens, revocation (RFC 6749, 7009, 7636).

django-oauth-toolkit is the engine (grants, PKCE, hashed client secrets, token storage); these
views give it Mastodon's addresses and shapes: ``POST /api/v1/apps`` answers an Application
entity, ``/oauth/authorize`` is the project's own sign-in and consent page (showing the code
for ``urn:ietf:wg:oauth:2.0:oob``), and the token endpoint answers Mastodon's token JSON with
the RFC 6749 section 5.2 error JSON on failure.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import Application
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView

from hashdesk.core import ratelimit
from hashdesk.core.errors import NotFound, RateLimited
from hashdesk.integrations.mastodon import actions, responses
from hashdesk.integrations.mastodon.actions import OOB
from hashdesk.integrations.mastodon.responses import Caller, endpoint
from hashdesk.integrations.mastodon.scopes import GRANT_TYPES, registered_scopes
from hashdesk.integrations.mastodon.tokens import SCOPES
from hashdesk.web.requests import client_address, current_user


def application_entity(application: Application, *, secret: str | None = None) -> dict[str, Any]:
    registration = getattr(application, "mastodon_registration", None)
    uris = actions.redirect_uri_list(application)
    entity: dict[str, Any] = {
        "id": str(application.pk),
        "name": application.name,
        "website": (registration.website or None) if registration else None,
        "scopes": sorted(registered_scopes(application)),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": list(uris),
        "vapid_key": "",
    }
    if secret is not None:
        entity["client_id"] = application.client_id
        entity["client_secret"] = secret
        entity["client_secret_expires_at"] = 0
    return entity


@endpoint("POST", auth=False)
def register_app(request: HttpRequest, caller: Caller | None) -> HttpResponse:
    values = responses.params(request)

    def text(name: str) -> str:
        value = values.get(name, "")
        if isinstance(value, list):
            value = " ".join(str(item) for item in value)
        return str(value or "")

    new = actions.do_register_app(
        client_name=text("client_name"),
        redirect_uris=text("redirect_uris"),
        scopes=text("scopes"),
        website=text("website"),
        ip=client_address(request),
    )
    return responses.ok(application_entity(new.application, secret=new.client_secret))


@endpoint("GET", user=False)
def verify_app(request: HttpRequest, caller: Caller) -> HttpResponse:
    return responses.ok(application_entity(caller.token.application))


class AuthorizeView(AuthorizationView):
    """Sign in (the project's sign-in page, through LoginRequiredMixin), then consent."""

    template_name = "mastodon/authorize.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = context.get("application")
        registration = getattr(application, "mastodon_registration", None)
        context["website"] = registration.website if registration else ""
        context["scope_rows"] = [
            (scope, SCOPES.get(scope, scope)) for scope in context.get("scopes") or []
        ]
        return context

    def redirect(self, redirect_to: str, application: Application | None) -> HttpResponse:
        if redirect_to.startswith(OOB):
            query = parse_qs(urlsplit(redirect_to).query)
            return render(
                self.request,
                "mastodon/authorized_oob.html",
                {
                    "application": application,
                    "code": (query.get("code") or [""])[0],
                    "error": (query.get("error") or [""])[0],
                },
                status=200 if query.get("code") else 400,
            )
        allowed = ["https"]
        scheme = urlsplit(redirect_to).scheme.lower()
        if (
            application is not None
            and scheme != "https"
            and actions.redirect_scheme_allowed(redirect_to)
        ):
            # An app's own scheme (``myapp://callback``) or a loopback http address: oauthlib
            # already checked that the address is one the app registered.
            allowed.append(scheme)
        return OAuth2ResponseRedirect(redirect_to, allowed)


def _oauth_error(status: int, code: str, description: str) -> JsonResponse:
    return JsonResponse({"error": code, "error_description": description}, status=status)


def _limited(request: HttpRequest) -> JsonResponse | None:
    try:
        ratelimit.hit("mastodon_token", client_address(request))
    except RateLimited as exc:
        response = _oauth_error(429, "rate_limited", "Too many requests; try again later.")
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """The token endpoint: authorization_code (PKCE checked when the code was bound to a
    challenge), client_credentials and refresh_token. The password grant is refused."""
    if request.method != "POST":
        return _oauth_error(405, "invalid_request", "Use POST.")
    limited = _limited(request)
    if limited is not None:
        return limited
    grant_type = request.POST.get("grant_type", "")
    if grant_type and grant_type not in GRANT_TYPES:
        return _oauth_error(400, "unsupported_grant_type", "This grant type is not supported.")
    response = TokenView.as_view()(request)
    if response.status_code == 200:
        body = json.loads(response.content)
        body["created_at"] = int(timezone.now().timestamp())
        answer = JsonResponse(body)
        answer["Cache-Control"] = "no-store"
        answer["Pragma"] = "no-cache"
        return responses.with_cors(answer)
    return responses.with_cors(response)


@csrf_exempt
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009 with the app's credentials; Mastodon answers ``{}``."""
    if request.method != "POST":
        return _oauth_error(405, "invalid_request", "Use POST.")
    limited = _limited(request)
    if limited is not None:
        return limited
    response = RevokeTokenView.as_view()(request)
    if response.status_code == 200:
        return responses.with_cors(JsonResponse({}))
    if response.status_code == 401 or not response.content:
        # RFC 7009 section 2.2.1: a client that failed to authenticate.
        return responses.with_cors(
            _oauth_error(403, "unauthorized_client", "You are not authorized to revoke this token")
        )
    return responses.with_cors(response)


def server_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414 metadata at ``/.well-known/oauth-authorization-server`` (Mastodon 4.3+)."""
    base = request.build_absolute_uri("/mastodon")
    body = {
        # The issuer that authorization responses name in ``iss`` (RFC 9207).
        "issuer": oauth2_settings.OIDC_ISS_ENDPOINT or base,
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }
    return responses.ok(body)


# --- Connected apps (a page for people, not part of Mastodon's API) ----------------------------


@login_required
@require_http_methods(["GET"])
def connected_apps(request: HttpRequest) -> HttpResponse:
    """The apps a person let use their account, each with what it may do and a way to stop it."""
    apps = actions.connected_apps(current_user(request))
    rows = [
        {
            "app": app,
            "scope_rows": [(scope, SCOPES[scope]) for scope in app.scopes if scope in SCOPES],
        }
        for app in apps
    ]
    return render(request, "mastodon/connected_apps.html", {"rows": rows})


@login_required
@require_http_methods(["POST"])
def disconnect_app(request: HttpRequest, application_id: str) -> HttpResponse:
    try:
        count = actions.do_disconnect_app(current_user(request), int(application_id))
    except NotFound as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"The app no longer has access to your account ({count} "
            f"sign-in{'s' if count != 1 else ''} revoked).",
        )
    return redirect("mastodon:connected-apps")
