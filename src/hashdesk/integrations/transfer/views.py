"""Pages: the administrators' import page, list exports, a person's own data export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.core import ratelimit
from hashdesk.core.errors import DomainError, NotFound, RateLimited
from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.transfer import actions
from hashdesk.integrations.transfer.exports import FORMATS, export_list
from hashdesk.integrations.transfer.forms import ImportForm
from hashdesk.integrations.transfer.importers import KINDS, ImportReport
from hashdesk.integrations.transfer.parsing import MAX_FILE_BYTES, guess_format
from hashdesk.integrations.transfer.personal import personal_export
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]


def administrator_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_administrator(current_user(request)):
            raise PermissionDenied("Only administrators import data.")
        return view(request, *args, **kwargs)

    return wrapper


def _page(
    request: HttpRequest,
    form: ImportForm,
    *,
    report: dict[str, Any] | None = None,
    staged_id: int | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "transfer/import.html",
        {
            "form": form,
            "report": report,
            "staged_id": staged_id,
            "kinds": {name: kind.columns for name, kind in KINDS.items()},
        },
        status=status,
    )


@administrator_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload and dry-run a file; the report offers "Apply" for the very file checked."""
    user = current_user(request)
    if request.method == "GET":
        return _page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        fmt = guess_format(upload.name or "")
        data = upload.read(MAX_FILE_BYTES + 1)
        staged, report = actions.do_stage_import(
            user, form.cleaned_data["kind"], data, fmt, filename=upload.name or ""
        )
    except DomainError as error:
        form.add_error("file", error.detail)
        return _page(request, form, status=error.status)
    return _page(
        request,
        ImportForm(initial={"kind": staged.kind}),
        report=report.as_dict(),
        staged_id=staged.pk,
    )


@administrator_required
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    try:
        report = actions.do_apply_staged_import(user, pk)
    except NotFound as error:
        raise Http404(error.detail) from error
    except RateLimited as error:
        form = ImportForm()
        form.add_error(None, error.detail)
        return _page(request, form, status=429)
    return _page(
        request,
        ImportForm(initial={"kind": report.kind}),
        report=report.as_dict(),
        status=200 if report.applied else 422,
    )


def report_csv(report: ImportReport | dict[str, Any]) -> str:
    data = report.as_dict() if isinstance(report, ImportReport) else report
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "field", "message"])
    for error in data.get("errors", []):
        writer.writerow([error["row"], error["field"], error["message"]])
    return out.getvalue()


@administrator_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The last report of a staged import, as CSV (rejected rows: row, field, message)."""
    try:
        staged = actions.staged_import_for(current_user(request), pk)
    except NotFound as error:
        raise Http404(error.detail) from error
    response = HttpResponse(report_csv(staged.report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{pk}-report.csv"'
    return response


@login_required
@require_GET
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponseBase:
    """``/integrations/transfer/export/<list>.<csv|json>?<the list page's filters>``."""
    if fmt not in FORMATS:
        raise Http404("Export as csv or json.")
    try:
        return export_list(current_user(request), name, request.GET, fmt)
    except NotFound as error:
        raise Http404(error.detail) from error
    except DomainError as error:
        raise PermissionDenied(error.detail) from error


@login_required
@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    """The person's own data as a JSON download; a few an hour, each audited."""
    user = current_user(request)
    try:
        ratelimit.hit("transfer_personal_export", str(user.pk))
    except RateLimited as error:
        response = HttpResponse(error.detail, status=429, content_type="text/plain")
        response["Retry-After"] = str(error.retry_after)
        return response
    document = personal_export(user)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=1),
        content_type="application/json",
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="my-hashdesk-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response
