"""Sign-in, sign-out, password reset, profile and API token pages.

Views parse forms and call hashdesk.accounts.actions; they never save an account model
themselves. Domain errors land on the form field they name.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from hashdesk.accounts import actions
from hashdesk.accounts.choices import Role
from hashdesk.accounts.forms import (
    NewPasswordForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignInForm,
    TokenCreateForm,
)
from hashdesk.accounts.models import ApiToken, User
from hashdesk.accounts.sign_in import attempt_sign_in
from hashdesk.core import ratelimit
from hashdesk.core.errors import DomainError, NotFound, RateLimited
from hashdesk.core.visibility import person_condition, visible_to
from hashdesk.integrations.oidc.sign_in import password_sign_in_allowed, sign_in_option
from hashdesk.web.requests import client_address, current_user, safe_next

# Where the reset token waits between the mailed link and the form, so that it leaves the URL
# (and with it browser history and Referer headers) after the first request; as Django does.
RESET_SESSION_TOKEN = "_password_reset_token"
RESET_URL_TOKEN = "set-password"


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- Sign-in and sign-out ---------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = SignInForm(request.POST if request.method == "POST" else None)
    status = 200
    password_allowed = password_sign_in_allowed()
    if request.method == "POST" and not password_allowed:
        # Single sign-on only (HASHDESK_OIDC_ONLY): passwords are not checked at all.
        form.is_valid()
        form.add_error(None, "Sign in through your organisation's sign-in provider.")
        status = 403
    elif request.method == "POST":
        try:
            ratelimit.hit("sign-in", client_address(request))
        except RateLimited as exc:
            form.is_valid()
            form.add_error(
                None,
                "Too many sign-in attempts from your network. "
                f"Try again in {_minutes(exc.retry_after)}.",
            )
            status = 429
        else:
            if form.is_valid():
                outcome = attempt_sign_in(
                    request,
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                )
                if outcome.user is not None:
                    login(request, outcome.user)  # also gives the session a new key
                    return redirect(next_url or settings.LOGIN_REDIRECT_URL)
                if outcome.locked_until is not None:
                    minutes = outcome.locked_minutes
                    form.add_error(
                        None,
                        "Too many failed sign-ins for this account. "
                        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
                        "or reset your password.",
                    )
                else:
                    form.add_error(None, "That email address and password do not match.")
            status = 400
    context = {
        "form": form,
        "next": next_url or "",
        "password_allowed": password_allowed,
        "single_sign_on": sign_in_option(next_url),
    }
    return render(request, "accounts/sign_in.html", context, status=status)


def _after_sign_out(request: HttpRequest) -> str | None:
    """Where an integration wants the browser next (settings.SIGN_OUT_REDIRECTS), asked while
    the session still holds what it needs, e.g. single sign-on's ID token."""
    for path in settings.SIGN_OUT_REDIRECTS:
        target = import_string(path)(request)
        if target:
            return str(target)
    return None


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    onward = _after_sign_out(request)
    logout(request)  # Hashdesk's session ends first, whatever comes next
    messages.info(request, "You are signed out.")
    return redirect(onward or settings.LOGOUT_REDIRECT_URL)


# --- Password reset -----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        try:
            ratelimit.hit("password-reset", client_address(request))
        except RateLimited as exc:
            form.is_valid()
            wait = _minutes(exc.retry_after)
            form.add_error(None, f"Too many reset requests from your network. Try again in {wait}.")
            status = 429
        else:
            if form.is_valid():
                # Same answer whether or not the address has an account.
                actions.do_request_password_reset(form.cleaned_data["email"])
                return redirect("accounts:password-reset-sent")
            status = 400
    return render(request, "accounts/password_reset.html", {"form": form}, status=status)


@require_http_methods(["GET"])
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html")


def _user_from_uid(uidb64: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(person_condition(), pk=pk, is_active=True).first()


@sensitive_post_parameters("new_password", "new_password_again")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = _user_from_uid(uidb64)
    if user is not None and token != RESET_URL_TOKEN:
        if default_token_generator.check_token(user, token):
            request.session[RESET_SESSION_TOKEN] = token
            return redirect("accounts:password-reset-confirm", uidb64=uidb64, token=RESET_URL_TOKEN)
        user = None
    session_token = str(request.session.get(RESET_SESSION_TOKEN, ""))
    if user is None or not default_token_generator.check_token(user, session_token):
        return render(request, "accounts/password_reset_invalid.html", status=400)
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_reset_password(
                user, token=session_token, new_password=form.cleaned_data["new_password"]
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            del request.session[RESET_SESSION_TOKEN]
            messages.success(request, "Your password is changed. Sign in with it now.")
            return redirect("accounts:sign-in")
    return render(
        request,
        "accounts/password_reset_confirm.html",
        {"form": form, "person": user},
        status=400 if form.errors else 200,
    )


# --- Profile and password change ----------------------------------------------------------------


def _profile_page(
    request: HttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    password_form: PasswordChangeForm | None = None,
) -> HttpResponse:
    user = current_user(request)
    profile_form = profile_form or ProfileForm(user=user)
    password_form = password_form or PasswordChangeForm()
    invalid = bool(profile_form.errors or password_form.errors)
    context: dict[str, Any] = {
        "profile_form": profile_form,
        "password_form": password_form,
        "roles": [Role(name).label for name in sorted(user.roles) if name in Role.values],
    }
    return render(request, "accounts/profile.html", context, status=400 if invalid else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if request.method == "GET":
        return _profile_page(request)
    form = ProfileForm(request.POST, user=user)
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing to save: your profile is as it was.")
            return redirect("accounts:profile")
        try:
            actions.do_update_profile(user, user, **changes)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:profile")
    return _profile_page(request, profile_form=form)


@login_required
@sensitive_post_parameters("password-current_password", "password-new_password")
@never_cache
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            actions.do_change_password(
                user,
                user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            # Keeps this session signed in; other sessions of the person end.
            update_session_auth_hash(request, user)
            messages.success(request, "Your password is changed.")
            return redirect("accounts:profile")
    return _profile_page(request, password_form=form)


# --- API tokens ---------------------------------------------------------------------------------


def _tokens_page(
    request: HttpRequest,
    form: TokenCreateForm,
    *,
    new_token: ApiToken | None = None,
    raw_token: str = "",
) -> HttpResponse:
    user = current_user(request)
    tokens = visible_to(user, ApiToken.objects.all())
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "raw_token": raw_token},
        status=400 if form.errors else 200,
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _tokens_page(request, TokenCreateForm())
    user = current_user(request)
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        try:
            token, raw = actions.do_create_api_token(
                user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            # The raw token is in this response only (never_cache: no-store); it is not stored
            # anywhere, so reloading the page cannot show it again.
            return _tokens_page(request, TokenCreateForm(), new_token=token, raw_token=raw)
    return _tokens_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = current_user(request)
    token = get_object_or_404(visible_to(user, ApiToken.objects.all()), pk=token_id)
    if request.method == "GET":
        return render(request, "accounts/token_revoke.html", {"token": token})
    try:
        actions.do_revoke_api_token(user, token.pk)
    except NotFound as error:
        raise Http404(error.detail) from error
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"The token “{token.name}” is revoked; it no longer works.")
    return redirect("accounts:tokens")
