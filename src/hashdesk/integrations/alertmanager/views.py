"""The webhook Alertmanager posts to, the administrators' pages for receivers, and the agents'
"Alerts to publish" (also reached from the incident page's panel, ``panels.py``).

The webhook is authenticated by its bearer token alone (Alertmanager's
``http_config.authorization.credentials``), so it is exempt from CSRF; errors are RFC 9457
problem details, 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.api.problems import problem_response, status_problem
from hashdesk.catalog.choices import Visibility
from hashdesk.core import ratelimit
from hashdesk.core.errors import DomainError, RateLimited
from hashdesk.core.logging import get_logger
from hashdesk.core.visibility import is_administrator, is_staff
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import OPEN_STATES
from hashdesk.incidents.models import Incident
from hashdesk.integrations.alertmanager import actions
from hashdesk.integrations.alertmanager.choices import Outcome
from hashdesk.integrations.alertmanager.forms import MappingForm, NewReceiverForm, ReceiverForm
from hashdesk.integrations.alertmanager.models import (
    AlertGroup,
    AlertNotification,
    AlertReceiver,
    ServiceMapping,
)
from hashdesk.integrations.alertmanager.payload import MalformedPayload, parse
from hashdesk.web.requests import current_user

log = get_logger(__name__)
View = Callable[..., HttpResponse]
RATE_BUCKET = "alertmanager"
# Addresses under /integrations/alertmanager/ that are pages, not receivers.
RESERVED_SLUGS = frozenset({"receivers", "awaiting"})
NOTIFICATIONS_SHOWN = 50


# --- The webhook --------------------------------------------------------------------------------


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(request: HttpRequest, slug: str | None) -> AlertReceiver | None:
    token = _bearer(request)
    if not token:
        return None
    if slug is None:
        # The bare address: the receiver is the one whose token this is (looked up by hash).
        return AlertReceiver.objects.filter(token_hash=actions.hash_token(token)).first()
    receiver = AlertReceiver.objects.filter(slug=slug).first()
    if receiver is None or not actions.token_matches(receiver, token):
        return None
    return receiver


def _problem(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return problem_response(request, status_problem(status, detail, **extra))


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over the limit (read from the stream, so Django's own
    request-size limit does not apply to large alert storms)."""
    limit = settings.ALERTMANAGER_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    receiver = _authenticate(request, slug)
    if receiver is None:
        return problem_response(
            request,
            status_problem(401, "Send the receiver's token as Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": 'Bearer realm="hashdesk-alertmanager"'},
        )
    try:
        ratelimit.hit(RATE_BUCKET, str(receiver.pk))
    except RateLimited as error:
        return problem_response(
            request,
            error.as_problem(),
            headers={"Retry-After": str(error.retry_after)},
        )
    body = _read_body(request)
    if body is None:
        actions.do_record_notification(
            receiver, outcome=Outcome.REJECTED, detail="Body over the size limit."
        )
        return _problem(
            request,
            413,
            f"A notification may be at most {settings.ALERTMANAGER_MAX_BYTES} bytes; "
            "lower max_alerts in the webhook configuration.",
        )
    try:
        notification = parse(body)
    except MalformedPayload as error:
        actions.do_record_notification(receiver, outcome=Outcome.REJECTED, detail=error.detail)
        return problem_response(request, error.as_problem())
    try:
        result = actions.do_receive_notification(receiver, notification)
    except DomainError as error:
        actions.do_record_notification(
            receiver, outcome=Outcome.REJECTED, notification=notification, detail=error.detail
        )
        return problem_response(request, error.as_problem())
    actions.do_record_notification(
        receiver, outcome=result.outcome, notification=notification, incident=result.incident
    )
    log.info(
        "alertmanager notification",
        receiver=receiver.slug,
        outcome=result.outcome,
        alerts=len(notification.alerts),
        incident=result.incident.number if result.incident else None,
    )
    return JsonResponse(
        {
            "outcome": result.outcome,
            "incident": result.incident.number if result.incident else None,
            "new_alerts": result.new_alerts,
            "resolved_alerts": result.resolved_alerts,
        }
    )


# --- Administrators' pages ----------------------------------------------------------------------


def admin_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_administrator(current_user(request)):
            raise PermissionDenied("Only administrators configure Alertmanager receivers.")
        return view(request, *args, **kwargs)

    return wrapper


def _token_page(request: HttpRequest, receiver: AlertReceiver, token: str) -> HttpResponse:
    """The token, shown this once: never cached, never in a URL."""
    url = request.build_absolute_uri(f"/integrations/alertmanager/{receiver.slug}/")
    response = render(
        request, "alertmanager/token.html", {"receiver": receiver, "token": token, "url": url}
    )
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_GET
def receiver_list(request: HttpRequest) -> HttpResponse:
    receivers = list(AlertReceiver.objects.select_related("default_service"))
    return render(request, "alertmanager/list.html", {"receivers": receivers})


@admin_required
@never_cache
@require_http_methods(["GET", "POST"])
def receiver_create(request: HttpRequest) -> HttpResponse:
    form = NewReceiverForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        arguments = form.arguments()
        if (arguments.get("slug") or "") in RESERVED_SLUGS:
            form.add_error("slug", "This address is taken by a page; choose another.")
        else:
            try:
                receiver, token = actions.do_create_receiver(current_user(request), **arguments)
            except DomainError as error:
                form.add_domain_error(error)
            else:
                return _token_page(request, receiver, token)
    return render(
        request,
        "alertmanager/form.html",
        {"form": form, "receiver": None},
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def receiver_detail(request: HttpRequest, slug: str) -> HttpResponse:
    receiver = get_object_or_404(AlertReceiver, slug=slug)
    initial = {
        "name": receiver.name,
        "service_label": receiver.service_label,
        "default_service": receiver.default_service,
        "unknown_policy": receiver.unknown_policy,
        "resolve_policy": receiver.resolve_policy,
        "human_gate": receiver.human_gate,
    }
    form = ReceiverForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_receiver(current_user(request), receiver, **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The receiver {receiver.name} is saved.")
            return redirect("alertmanager:receiver", slug=receiver.slug)
    notifications = list(
        AlertNotification.objects.filter(receiver=receiver)
        .select_related("incident")
        .order_by("-received_at", "-id")[:NOTIFICATIONS_SHOWN]
    )
    context = {
        "receiver": receiver,
        "form": form,
        "mapping_form": MappingForm(),
        "mappings": list(receiver.mappings.select_related("service")),
        "notifications": notifications,
        "url": request.build_absolute_uri(f"/integrations/alertmanager/{receiver.slug}/"),
    }
    return render(request, "alertmanager/detail.html", context, status=400 if form.errors else 200)


@admin_required
@require_POST
def mapping_add(request: HttpRequest, slug: str) -> HttpResponse:
    receiver = get_object_or_404(AlertReceiver, slug=slug)
    form = MappingForm(request.POST)
    if form.is_valid():
        try:
            actions.do_set_mapping(current_user(request), receiver, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"{form.cleaned_data['label_value']} is mapped.")
    else:
        messages.error(request, "Give a label value and a service.")
    return redirect("alertmanager:receiver", slug=receiver.slug)


@admin_required
@require_POST
def mapping_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    mapping = get_object_or_404(ServiceMapping, pk=pk, receiver__slug=slug)
    actions.do_remove_mapping(current_user(request), mapping)
    messages.success(request, f"The mapping of {mapping.label_value} is removed.")
    return redirect("alertmanager:receiver", slug=slug)


@admin_required
@never_cache
@require_POST
def token_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    receiver = get_object_or_404(AlertReceiver, slug=slug)
    token = actions.do_rotate_token(current_user(request), receiver)
    return _token_page(request, receiver, token)


# --- Agents: incidents waiting behind the human gate --------------------------------------------


def staff_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff(current_user(request)):
            raise PermissionDenied("Only service desk staff publish alert incidents.")
        return view(request, *args, **kwargs)

    return wrapper


def gated_incidents() -> Any:
    """Open incidents opened by a gated receiver and not yet public."""
    return (
        Incident.objects.filter(
            pk__in=AlertGroup.objects.filter(receiver__human_gate=True).values("incident_id"),
            state__in=OPEN_STATES,
        )
        .exclude(visibility=Visibility.PUBLIC)
        .select_related("service")
        .order_by("priority", "-created_at")
    )


@staff_required
@require_GET
def awaiting(request: HttpRequest) -> HttpResponse:
    return render(request, "alertmanager/awaiting.html", {"incidents": list(gated_incidents())})


def _local_path(candidate: str | None) -> str | None:
    """``candidate`` if it is a path on this site ("/incidents/INC-…/"), else None: no host, no
    scheme, so the redirect can never leave the site."""
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts=None)
    ):
        return candidate
    return None


@staff_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent's confirmation: the alert incident becomes public (the ordinary visibility
    change of the incident actions, audited and announced like any). Back to ``next`` when it
    is a local path (the incident page's panel sends its own), else to "Alerts to publish"."""
    incident = get_object_or_404(Incident, pk=pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = incident.version
    try:
        incident_actions.do_update_incident(
            current_user(request), incident, expected_version=version, visibility=Visibility.PUBLIC
        )
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{incident.number} is published.")
    return redirect(_local_path(request.POST.get("next")) or "alertmanager:awaiting")
