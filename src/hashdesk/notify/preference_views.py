"""The notification preferences page and the subscriptions page (``/notifications/...``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import visible_to
from hashdesk.notify.models import WebhookEndpoint
from hashdesk.notify.preference_forms import FollowForm, PreferencesForm
from hashdesk.notify.preferences import do_save_preferences, offered_chat_tools, preferences_of
from hashdesk.notify.subscriptions import do_follow_hashtag, do_unfollow_any, subscriptions_of
from hashdesk.wall.choices import FollowKind
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    current = preferences_of(user)
    if request.method == "GET":
        form = PreferencesForm(current=current)
    else:
        form = PreferencesForm(request.POST, current=current)
        if form.is_valid():
            tool = form.cleaned_data.get("chat_tool")
            try:
                do_save_preferences(
                    user,
                    choices=form.choices(),
                    quiet=form.quiet(),
                    chat_tool_id=tool.pk if tool is not None else None,
                    chat_handle=form.cleaned_data.get("chat_handle") or "",
                )
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(request, "Your notification preferences are saved.")
                return redirect("notify:preferences")
    context: dict[str, Any] = {
        "form": form,
        "webhooks": WebhookEndpoint.objects.filter(owner=user, is_active=True).count(),
        "chat_tools_offered": offered_chat_tools().exists(),
        "time_zone": user.time_zone,
    }
    return render(request, "notify/preferences.html", context, status=400 if form.errors else 200)


def _follow_form(request: HttpRequest, data: Any = None) -> FollowForm:
    user = current_user(request)
    followed = set(subscriptions_of_services(user))
    services = [
        (pk, name)
        for pk, name in visible_to(user, Service.objects.filter(is_active=True))
        .order_by("name")
        .values_list("pk", "name")
        if pk not in followed
    ]
    return FollowForm(data, services=services)


def subscriptions_of_services(user: Any) -> list[int]:
    from hashdesk.wall.models import Follow

    return list(
        Follow.objects.filter(user=user, kind=FollowKind.SERVICE).values_list(
            "target_id", flat=True
        )
    )


def _subscriptions_page(request: HttpRequest, form: FollowForm | None = None) -> HttpResponse:
    user = current_user(request)
    form = form or _follow_form(request)
    return render(
        request,
        "notify/subscriptions.html",
        {"subscriptions": subscriptions_of(user), "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@never_cache
@require_GET
def subscriptions(request: HttpRequest) -> HttpResponse:
    return _subscriptions_page(request)


@login_required
@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = _follow_form(request, request.POST)
    if form.is_valid():
        from hashdesk.wall.actions import do_follow

        followed: list[str] = []
        try:
            # Both or neither: a refused hashtag leaves the service unfollowed too.
            with transaction.atomic():
                service_id = form.cleaned_data.get("service")
                if service_id:
                    service = visible_to(user, Service.objects.filter(pk=service_id)).get()
                    do_follow(user, FollowKind.SERVICE, service)
                    followed.append(service.name)
                hashtag = (form.cleaned_data.get("hashtag") or "").strip()
                if hashtag:
                    follow = do_follow_hashtag(user, hashtag)
                    followed.append(f"#{follow_name(follow.target_id)}")
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"You follow {' and '.join(followed)}.")
            return redirect("notify:subscriptions")
    return _subscriptions_page(request, form)


def follow_name(hashtag_id: int) -> str:
    from hashdesk.wall.models import Hashtag

    return Hashtag.objects.filter(pk=hashtag_id).values_list("name", flat=True).first() or ""


@login_required
@require_POST
def unfollow(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    kind = request.POST.get("kind", "")
    raw = request.POST.get("target", "")
    label = request.POST.get("label", "")[:200] or "it"
    if not raw.isdigit():
        messages.error(request, "Nothing to unfollow.")
        return redirect("notify:subscriptions")
    try:
        do_unfollow_any(user, kind, int(raw))
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"You no longer follow {label}.")
    return redirect("notify:subscriptions")
