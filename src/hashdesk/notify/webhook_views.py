"""The webhook pages: list, create (the secret shown once), edit, delete, rotate the secret,
send a test and enable again. Views call notify.webhooks; it decides and refuses."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.core import http
from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.visibility import is_administrator, visible_to
from hashdesk.notify import webhooks
from hashdesk.notify.choices import Category
from hashdesk.notify.models import WebhookEndpoint
from hashdesk.notify.webhook_forms import WebhookForm
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user


def _own_webhook(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    """A webhook the person may change: 404 when they may not see it, 403 when they only may
    see it (administrators looking at someone else's)."""
    user = current_user(request)
    endpoint = get_object_or_404(visible_to(user, WebhookEndpoint.objects.all()), pk=endpoint_id)
    if endpoint.owner_id != user.pk:
        raise PermissionDenied("Only the person who owns a webhook can change it.")
    return endpoint


def _shown(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Attach what the templates show: the destination without path or query, and the
    category names."""
    labels = dict(Category.choices)
    endpoint.destination = http.describe_destination(endpoint.url)  # type: ignore[attr-defined]
    endpoint.category_labels = ", ".join(  # type: ignore[attr-defined]
        str(labels.get(value, value)) for value in endpoint.categories
    )
    return endpoint


def _secret_page(
    request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, rotated: bool
) -> HttpResponse:
    # The secret is in this response only (never_cache on the views: no-store).
    return render(
        request,
        "notify/webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "rotated": rotated},
    )


@login_required
@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    visible = visible_to(user, WebhookEndpoint.objects.select_related("owner"))
    others = (
        [_shown(e) for e in visible.exclude(owner=user).order_by("owner__email", "name", "id")]
        if is_administrator(user)
        else []
    )
    return render(
        request,
        "notify/webhooks/list.html",
        {
            "webhooks": [_shown(endpoint) for endpoint in visible.filter(owner=user)],
            "others": others,
            "disable_after": settings.NOTIFY_DISABLE_AFTER_FAILURES,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhooks.do_create_webhook(
                current_user(request),
                form.cleaned_data["name"],
                form.cleaned_data["url"],
                form.cleaned_data["categories"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(
        request,
        "notify/webhooks/form.html",
        {"form": form, "endpoint": None},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_webhook(request, endpoint_id)
    if request.method == "GET":
        form = WebhookForm(
            initial={"name": endpoint.name, "url": endpoint.url, "categories": endpoint.categories}
        )
    else:
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                webhooks.do_update_webhook(
                    current_user(request),
                    endpoint.pk,
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    categories=form.cleaned_data["categories"],
                )
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(request, f"The webhook “{form.cleaned_data['name']}” is saved.")
                return redirect("notify:webhooks")
    return render(
        request,
        "notify/webhooks/form.html",
        {"form": form, "endpoint": endpoint},
        status=400 if form.errors else 200,
    )


def _act(request: HttpRequest, action: str, endpoint: WebhookEndpoint) -> bool:
    """Run one of the simple actions; a refusal becomes a message. True when it worked."""
    user = current_user(request)
    try:
        if action == "delete":
            webhooks.do_delete_webhook(user, endpoint.pk)
        elif action == "enable":
            webhooks.do_enable_webhook(user, endpoint.pk)
        elif action == "test":
            webhooks.do_send_test_delivery(user, endpoint.pk)
    except NotFound as error:
        raise PermissionDenied(error.detail) from error
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_webhook(request, endpoint_id)
    if request.method == "GET":
        return render(request, "notify/webhooks/delete.html", {"endpoint": _shown(endpoint)})
    if _act(request, "delete", endpoint):
        messages.success(request, f"The webhook “{endpoint.name}” is deleted.")
    return redirect("notify:webhooks")


@login_required
@require_POST
def webhook_enable(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_webhook(request, endpoint_id)
    if _act(request, "enable", endpoint):
        messages.success(request, f"The webhook “{endpoint.name}” is on again.")
    return redirect("notify:webhooks")


@login_required
@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_webhook(request, endpoint_id)
    if _act(request, "test", endpoint):
        messages.success(
            request,
            f"A test delivery to {http.describe_destination(endpoint.url)} is on its way; "
            "its result appears here as the last success or failure.",
        )
    return redirect("notify:webhooks")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_webhook(request, endpoint_id)
    if request.method == "GET":
        return render(request, "notify/webhooks/rotate.html", {"endpoint": endpoint})
    try:
        endpoint, secret = webhooks.do_rotate_secret(current_user(request), endpoint.pk)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect("notify:webhooks")
    return _secret_page(request, endpoint, secret, rotated=True)
