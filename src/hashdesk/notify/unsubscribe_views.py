"""The unsubscribe link of notification mails: a confirm page, its button, and the RFC 8058
one-click POST that mail clients send on the person's behalf. No sign-in: the signed token in
the address is the authorisation (hashdesk.notify.unsubscribe)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from hashdesk.core.logging import get_logger
from hashdesk.notify.unsubscribe import (
    PREFERENCES_PATH,
    UnsubscribeRequest,
    do_unsubscribe_email,
    read_unsubscribe_token,
)

log = get_logger(__name__)

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"


def _done(request: HttpRequest, wanted: UnsubscribeRequest, *, one_click: bool) -> HttpResponse:
    changed = do_unsubscribe_email(wanted, one_click=one_click)
    log.info(
        "email unsubscribe",
        user_id=wanted.user.pk,
        categories=[str(c) for c in wanted.categories],
        changed=changed,
        one_click=one_click,
    )
    return render(
        request,
        "notify/unsubscribe_done.html",
        {"wanted": wanted, "changed": bool(changed), "preferences_path": PREFERENCES_PATH},
    )


@csrf_protect
def _confirmed_on_page(request: HttpRequest, wanted: UnsubscribeRequest) -> HttpResponse:
    """The page's button: an ordinary form, so it carries and is checked for a CSRF token."""
    return _done(request, wanted, one_click=False)


# CSRF-exempt because RFC 8058 one-click requests come from mail clients and providers, which
# cannot hold a CSRF token. CSRF protects requests that ride on a signed-in session; this one
# needs none, since the signed token in the address is the whole authorisation and anyone
# holding it could send the request anyway. Every other POST is checked as usual
# (_confirmed_on_page), and GET changes nothing (mail scanners follow links).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    wanted = read_unsubscribe_token(token)
    if wanted is None:
        return render(
            request,
            "notify/unsubscribe_invalid.html",
            {"preferences_path": PREFERENCES_PATH},
            status=400,
        )
    if request.method == "GET":
        return render(
            request,
            "notify/unsubscribe.html",
            {"wanted": wanted, "token": token, "preferences_path": PREFERENCES_PATH},
        )
    if request.POST.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
        return _done(request, wanted, one_click=True)
    return _confirmed_on_page(request, wanted)
