"""The delivery log pages: the list (filters, newest first, "Older" by id), one delivery with
every attempt, and resending by hand. Who sees which rows is notify.delivery_log's rule."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_view_delivery_log
from hashdesk.notify import delivery_log
from hashdesk.web.requests import current_user


class DeliveryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=delivery_log.SEARCH_MAX,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Recipient or target"}),
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *delivery_log.STATUS_CHOICES]
    )
    channel = forms.ChoiceField(
        required=False, choices=[("", "Any channel"), *delivery_log.CHANNEL_CHOICES]
    )
    kind = forms.CharField(
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "Kind, e.g. incident."}),
    )


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() else None


@login_required
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = DeliveryFilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    filters = delivery_log.clean_filters(
        status=data.get("status"),
        channel=data.get("channel"),
        search=data.get("q"),
        kind=data.get("kind"),
    )
    rows = delivery_log.apply_filters(delivery_log.deliveries_for(user), filters)
    items, next_before = delivery_log.page_before(rows, _before(request))
    query = {
        key: value
        for key, value in (
            ("q", filters.search),
            ("status", filters.status),
            ("channel", filters.channel),
            ("kind", filters.kind),
        )
        if value
    }
    return render(
        request,
        "notify/deliveries/list.html",
        {
            "form": form,
            "filters": filters,
            "rows": [
                {
                    "message": message,
                    "state": delivery_log.state_of(message),
                    "recipient": delivery_log.recipient_label(message),
                }
                for message in items
            ],
            "everyone": can_view_delivery_log(user),
            "older_query": urlencode({**query, "before": next_before}) if next_before else "",
            "is_paged": _before(request) is not None,
            "first_query": urlencode(query),
        },
    )


@login_required
@require_GET
def delivery_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    try:
        message = delivery_log.message_for(user, message_id)
    except DomainError:
        raise Http404("No such delivery.") from None
    return render(
        request,
        "notify/deliveries/detail.html",
        {
            "message": message,
            "state": delivery_log.state_of(message),
            "recipient": delivery_log.recipient_label(message),
            "details": delivery_log.safe_details(message),
            "attempts": delivery_log.attempts_of(message),
            "may_resend": delivery_log.may_resend(user, message),
            "everyone": can_view_delivery_log(user),
        },
    )


@login_required
@require_POST
def delivery_resend(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    try:
        message = delivery_log.message_for(user, message_id)
    except DomainError:
        raise Http404("No such delivery.") from None
    try:
        resent = delivery_log.do_resend(user, message)
    except DomainError as error:
        messages.error(request, error.detail)
        return redirect("notify:delivery", message_id=message.pk)
    if resent.requeued:
        messages.success(request, "The delivery is queued again and will be tried shortly.")
        return redirect("notify:delivery", message_id=message.pk)
    messages.success(request, "A copy of the delivery is queued; it is marked as a resend.")
    return redirect("notify:delivery", message_id=resent.message.pk)
