"""The incoming webhook endpoint (Slack's protocol) and the administrators' pages.

The endpoint answers exactly as Slack does: ``200 ok`` in plain text, or a plain-text error code
(docs/integrations/slack.md, "Errors"). It is exempt from CSRF because the secret in its URL
authenticates it; no session is read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.slack import actions
from hashdesk.integrations.slack.forms import HookForm
from hashdesk.integrations.slack.models import IncomingWebhook
from hashdesk.integrations.slack.payload import PAYLOAD_MAX_BYTES, HookRefused, read_message
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


SECRET_IN_LOGS = "[secret]"


@csrf_exempt
def receive(request: HttpRequest, public_id: str, secret: str) -> HttpResponse:
    """``POST /integrations/slack/hooks/<public-id>/<secret>``: one Slack message."""
    # The secret is part of the path; Django logs the path of every 4xx and 5xx response (and
    # hashdesk.core.logging adds it to log lines). From here on they read it without the secret.
    request.path = request.path.replace(secret, SECRET_IN_LOGS)
    request.path_info = request.path_info.replace(secret, SECRET_IN_LOGS)
    if request.method != "POST":
        response = _plain(405, "invalid_method")
        response["Allow"] = "POST"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > PAYLOAD_MAX_BYTES:
            raise HookRefused(413, "request_too_large")
        hook = actions.authenticate(public_id, secret)
        try:
            body = request.body
        except RequestDataTooBig:
            raise HookRefused(413, "request_too_large") from None
        message = read_message(request.content_type or "", body)
        actions.do_post_hook_message(hook, message)
    except HookRefused as refused:
        response = _plain(refused.status, refused.code)
        if refused.retry_after is not None:
            response["Retry-After"] = str(refused.retry_after)
        return response
    return _plain(200, "ok")


# --- Administration ---------------------------------------------------------------------------


def hook_admin_required(view: View) -> View:
    """Signed in and an administrator (hashdesk.core.visibility), else 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_administrator(current_user(request)):
            raise PermissionDenied("Only administrators manage incoming webhooks.")
        return view(request, *args, **kwargs)

    return wrapper


def _hook(pk: int) -> IncomingWebhook:
    return get_object_or_404(IncomingWebhook.objects.select_related("service", "bot"), pk=pk)


@hook_admin_required
@require_GET
def hook_list(request: HttpRequest) -> HttpResponse:
    hooks = IncomingWebhook.objects.select_related("service", "created_by").order_by("name")
    return render(request, "slack/list.html", {"hooks": hooks})


def _shown_once(
    request: HttpRequest, hook: IncomingWebhook, secret: str, *, new: bool
) -> HttpResponse:
    """The page that shows a hook's URL, the only time it is shown (its views are never_cache:
    no-store)."""
    return render(
        request,
        "slack/secret.html",
        {"hook": hook, "url": actions.hook_url(hook, secret), "new": new},
    )


@hook_admin_required
@require_http_methods(["GET", "POST"])
@never_cache
def hook_create(request: HttpRequest) -> HttpResponse:
    form = HookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            hook, secret = actions.do_create_hook(current_user(request), **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return _shown_once(request, hook, secret, new=True)
    return render(request, "slack/form.html", {"form": form}, status=400 if form.errors else 200)


@hook_admin_required
@require_POST
@never_cache
def hook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        hook, secret = actions.do_rotate_hook_secret(current_user(request), _hook(pk))
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect("slack:hooks")
    return _shown_once(request, hook, secret, new=False)


def _set_active(request: HttpRequest, pk: int, *, active: bool) -> HttpResponse:
    try:
        hook = actions.do_set_hook_active(current_user(request), _hook(pk), active=active)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        state = "enabled again" if active else "disabled: its URL answers channel_is_archived"
        messages.success(request, f"The hook {hook.name} is {state}.")
    return redirect("slack:hooks")


@hook_admin_required
@require_POST
def hook_disable(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=False)


@hook_admin_required
@require_POST
def hook_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=True)


@hook_admin_required
@require_http_methods(["GET", "POST"])
def hook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    hook = _hook(pk)
    if request.method == "GET":
        return render(request, "slack/delete.html", {"hook": hook})
    name = hook.name
    try:
        actions.do_delete_hook(current_user(request), hook)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"The hook {name} is removed.")
    return redirect("slack:hooks")
