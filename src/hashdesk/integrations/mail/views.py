"""The inbound mail log (what arrived by mail and what became of it) and the mail aliases
(addresses pointed at a service or at "guess"); administrators only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.mail import actions, addresses
from hashdesk.integrations.mail.choices import AliasTarget, InboundStatus
from hashdesk.integrations.mail.forms import AliasForm
from hashdesk.integrations.mail.models import InboundMessage, MailAlias
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]

PAGE_SIZE = 50


@login_required
@require_GET
def inbound_log(request: HttpRequest) -> HttpResponse:
    if not is_administrator(current_user(request)):
        raise PermissionDenied("Only administrators see the inbound mail log.")
    status = request.GET.get("status", "")
    rows = InboundMessage.objects.select_related("incident", "author").order_by("-id")
    if status in InboundStatus.values:
        rows = rows.filter(status=status)
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(id__lt=int(before))
    page = list(rows[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return render(
        request,
        "mail/inbound_log.html",
        {
            "rows": page[:PAGE_SIZE],
            "status": status,
            "statuses": InboundStatus.choices,
            "older": older,
        },
    )


# --- Aliases ------------------------------------------------------------------------------------


def alias_admin_required(view: View) -> View:
    """Signed in and an administrator (hashdesk.core.visibility), else 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_administrator(current_user(request)):
            raise PermissionDenied("Only administrators manage mail aliases.")
        return view(request, *args, **kwargs)

    return wrapper


def _alias(pk: int) -> MailAlias:
    return get_object_or_404(MailAlias.objects.select_related("service"), pk=pk)


def _shadowed(local_parts: list[str]) -> dict[str, Service]:
    """Services whose slug or hashtag an alias shadows, by the alias's local part (one query)."""
    shadowed: dict[str, Service] = {}
    if not local_parts:
        return shadowed
    services = Service.objects.filter(Q(slug__in=local_parts) | Q(hashtag__in=local_parts))
    for service in services.order_by("name"):
        for name in (service.slug, service.hashtag):
            if name in local_parts:
                shadowed.setdefault(name, service)
    return shadowed


def _domain() -> str:
    return addresses.inbound_domains()[0]


@alias_admin_required
@require_GET
def alias_list(request: HttpRequest) -> HttpResponse:
    aliases = list(MailAlias.objects.select_related("service").order_by("local_part"))
    shadowed = _shadowed([alias.local_part for alias in aliases])
    rows = [{"alias": alias, "shadows": shadowed.get(alias.local_part)} for alias in aliases]
    return render(
        request,
        "mail/alias_list.html",
        {"rows": rows, "domain": _domain(), "domains": addresses.inbound_domains()},
    )


def _saved_message(request: HttpRequest, alias: MailAlias, verb: str) -> None:
    shadows = _shadowed([alias.local_part]).get(alias.local_part)
    text = f"The alias {alias.local_part}@ is {verb}."
    if shadows is not None:
        text += f" It takes precedence over the address of the service {shadows.name}."
    messages.success(request, text)


def _form_page(request: HttpRequest, form: AliasForm, alias: MailAlias | None) -> HttpResponse:
    return render(
        request,
        "mail/alias_form.html",
        {"form": form, "alias": alias, "domain": _domain(), "guess": AliasTarget.GUESS},
        status=400 if form.errors else 200,
    )


@alias_admin_required
@require_http_methods(["GET", "POST"])
def alias_create(request: HttpRequest) -> HttpResponse:
    form = AliasForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            alias = actions.do_create_alias(current_user(request), **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            _saved_message(request, alias, "added")
            return redirect("mail:aliases")
    return _form_page(request, form, None)


@alias_admin_required
@require_http_methods(["GET", "POST"])
def alias_edit(request: HttpRequest, pk: int) -> HttpResponse:
    alias = _alias(pk)
    form = AliasForm(request.POST if request.method == "POST" else None, alias=alias)
    if request.method == "POST" and form.is_valid():
        try:
            alias = actions.do_update_alias(current_user(request), alias, **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            _saved_message(request, alias, "saved")
            return redirect("mail:aliases")
    return _form_page(request, form, alias)


@alias_admin_required
@require_http_methods(["GET", "POST"])
def alias_delete(request: HttpRequest, pk: int) -> HttpResponse:
    alias = _alias(pk)
    if request.method == "GET":
        return render(request, "mail/alias_delete.html", {"alias": alias, "domain": _domain()})
    name = alias.local_part
    try:
        actions.do_delete_alias(current_user(request), alias)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"The alias {name}@ is removed.")
    return redirect("mail:aliases")
