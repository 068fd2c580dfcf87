"""The search page ``/search/`` and the synonyms page ``/search/synonyms/`` (docs/search.md)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.visibility import is_administrator, visible_to
from hashdesk.search import synonyms as synonym_actions
from hashdesk.search.models import Synonym
from hashdesk.search.params import filters
from hashdesk.search.query import LABELS, QUERY_MAX, Results, search
from hashdesk.web.requests import current_user

PAGE_SIZE = 20


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    q = request.GET.get("q", "")[:QUERY_MAX]
    raw = {
        "type": request.GET.get("type", ""),
        "service": request.GET.get("service", ""),
        "from": request.GET.get("from", ""),
        "to": request.GET.get("to", ""),
    }
    offset_raw = request.GET.get("offset", "0")
    offset = int(offset_raw) if offset_raw.isdigit() else 0
    error = ""
    found: Results | None = None
    try:
        chosen = filters(
            user, type=raw["type"], service=raw["service"], start=raw["from"], end=raw["to"]
        )
    except NotFound as refused:
        raise Http404(refused.detail) from refused
    except DomainError as refused:
        error = refused.detail
        chosen = None
    if chosen is not None and q.strip():
        found = search(
            user,
            q,
            kinds=chosen.kinds,
            service=chosen.service,
            since=chosen.since,
            until=chosen.until,
            limit=PAGE_SIZE,
            offset=offset,
        )

    def link(**changes: str) -> str:
        params = {"q": q, **raw, **changes}
        return "?" + urlencode({key: value for key, value in params.items() if value})

    chips = []
    if found is not None:
        chips = [
            {
                "kind": kind,
                "label": LABELS[kind],
                "count": found.counts.get(kind, 0),
                "url": link(type=kind),
                "current": raw["type"] == kind,
            }
            for kind in found.kinds
        ]
    return render(
        request,
        "search/results.html",
        {
            "q": q,
            "raw": raw,
            "error": error,
            "found": found,
            "chips": chips,
            "all_url": link(type=""),
            "corrected_url": link(q=found.corrected) if found and found.corrected else "",
            "next_url": link(offset=str(found.next_offset)) if found and found.next_offset else "",
            "labels": LABELS,
            "services": list(visible_to(user, Service.objects.all()).order_by("name")),
            "service_id": raw["service"],
        },
    )


def _require_admin(request: HttpRequest) -> None:
    if not is_administrator(current_user(request)):
        raise PermissionDenied("Only administrators edit search synonyms.")


@login_required
@require_http_methods(["GET", "POST"])
def synonym_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    user = current_user(request)
    form = {"term": "", "synonyms": ""}
    error = ""
    error_field = ""
    status = 200
    if request.method == "POST":
        form = {
            "term": request.POST.get("term", ""),
            "synonyms": request.POST.get("synonyms", ""),
        }
        try:
            saved = synonym_actions.do_save_synonym(user, form["term"], form["synonyms"])
        except DomainError as refused:
            error, error_field, status = refused.detail, refused.field or "", 422
        else:
            messages.success(request, f"Saved the synonyms of “{saved.term}”.")
            return redirect("search:synonyms")
    return render(
        request,
        "search/synonyms.html",
        {
            "synonyms": list(Synonym.objects.order_by("term")),
            "form": form,
            "error": error,
            "error_field": error_field,
        },
        status=status,
    )


@login_required
@require_POST
def synonym_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    synonym = get_object_or_404(Synonym, pk=pk)
    synonym_actions.do_delete_synonym(current_user(request), synonym)
    messages.success(request, f"Deleted the synonyms of “{synonym.term}”.")
    return redirect("search:synonyms")
