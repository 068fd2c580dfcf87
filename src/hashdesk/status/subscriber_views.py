"""Pages of the status page's email subscription: ask, confirm, unsubscribe
(docs/status.md, "Subscribing by email"). A few lines each: parse, call the action, render.

Confirming takes a POST although the mailed link is a GET: mail scanners and link previews fetch
every link in a mail, and a GET that confirmed would subscribe addresses whose owners never
clicked. The GET page shows one button. Unsubscribing is the same, plus RFC 8058 one-click: a mail
client POSTs ``List-Unsubscribe=One-Click`` to the link itself, without a session or a CSRF
token, so that view alone is CSRF-exempt; the signed token in its URL is the authorisation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hashdesk.core.errors import DomainError, RateLimited
from hashdesk.status.subscriber_forms import SubscribeForm
from hashdesk.status.subscribers import (
    CONFIRM_MAX_AGE,
    InvalidToken,
    do_confirm_subscription,
    do_request_subscription,
    do_unsubscribe,
    public_services,
    read_confirm_token,
    read_unsubscribe_token,
)
from hashdesk.web.requests import client_address


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _invalid(request: HttpRequest, error: InvalidToken, *, purpose: str) -> HttpResponse:
    return render(
        request,
        "status/subscribe_invalid.html",
        {"expired": error.expired, "purpose": purpose, "days": CONFIRM_MAX_AGE.days},
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The form; the status page links here (with ?service=<id> from a service's page)."""
    if not settings.STATUS_PAGE_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    services = list(public_services())
    # A service's status page links here with ?service=<id>: that one is ticked to start with.
    chosen = request.GET.get("service", "")
    initial = {"services": [int(chosen)]} if chosen.isdigit() else {}
    form = SubscribeForm(
        request.POST if request.method == "POST" else None, services=services, initial=initial
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                do_request_subscription(
                    form.cleaned_data["email"],
                    form.cleaned_data["services"],
                    ip=client_address(request),
                )
            except RateLimited as error:
                form.add_error(
                    None,
                    "Too many subscription requests from your network or for this address. "
                    f"Try again in {_minutes(error.retry_after)}.",
                )
                status = 429
            except DomainError as error:
                form.add_domain_error(error)
            else:
                return redirect("status:subscribe-sent")
    return render(request, "status/subscribe.html", {"form": form}, status=status)


@require_http_methods(["GET"])
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    # The same page whatever the address was: it never tells who is subscribed.
    return render(request, "status/subscribe_sent.html", {"days": CONFIRM_MAX_AGE.days})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            subscriber = do_confirm_subscription(token)
            return render(
                request,
                "status/subscribe_confirmed.html",
                {"services": list(subscriber.services.order_by("name"))},
            )
        pending = read_confirm_token(token)
    except InvalidToken as error:
        return _invalid(request, error, purpose="confirm")
    return render(
        request,
        "status/subscribe_confirm.html",
        {"address": pending.subscriber.email, "services": pending.services},
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            do_unsubscribe(token)
            return render(request, "status/subscribe_unsubscribed.html")
        subscriber = read_unsubscribe_token(token)
    except InvalidToken as error:
        return _invalid(request, error, purpose="unsubscribe")
    return render(
        request,
        "status/subscribe_unsubscribe.html",
        {"address": subscriber.email, "already": subscriber.unsubscribed_at is not None},
    )
