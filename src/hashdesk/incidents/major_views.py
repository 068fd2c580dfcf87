"""Pages for links, merges and the major-incident process of one incident.

The forms live in two panels of the incident's page (``incidents/includes/links_panel.html`` and
``major_panel.html``), whose context comes from :func:`detail_context`. Each form posts here; a
success goes back to the incident's page with a message, a refusal re-renders the form on a page
of its own with the error next to its field. Every change goes through incidents.linking or
incidents.major; an incident the viewer may not see is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents import linking, major
from hashdesk.incidents.choices import FINAL_STATES, LinkKind, TimelineKind
from hashdesk.incidents.major_forms import (
    DeclareMajorForm,
    LinkForm,
    MergeForm,
    OfficialUpdateForm,
    StandDownForm,
)
from hashdesk.incidents.models import Incident, IncidentLink, TimelineEntry
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.requests import current_user

STAND_DOWN = "stand_down"


# --- The panels on the incident's page ----------------------------------------------------------


@dataclass(frozen=True)
class MajorStatus:
    """What the major-incident box shows."""

    incident: Incident
    is_open: bool
    overdue: bool
    last_update: TimelineEntry | None

    @property
    def commander(self) -> User | None:
        return self.incident.commander

    @property
    def next_update_due_at(self) -> datetime | None:
        return self.incident.next_update_due_at


def major_status(incident: Incident, now: datetime | None = None) -> MajorStatus | None:
    if not incident.is_major:
        return None
    last_update = (
        TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.OFFICIAL_UPDATE)
        .order_by("-created_at", "-id")
        .first()
    )
    return MajorStatus(
        incident=incident,
        is_open=major.is_open_major(incident),
        overdue=major.update_overdue(incident, now),
        last_update=last_update,
    )


def detail_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """The context of the links and major-incident panels of ``incident``'s page.

    Reads: the links the viewer may see (one query) and, for a major incident, its commander
    and latest official update. Forms are built only for staff, who may use them.
    """
    viewer = request.user
    staff = is_staff(viewer)
    open_ = incident.state not in FINAL_STATES
    links = linking.visible_links(viewer, incident)
    merged_into = next(
        (view.other for view in links if view.kind == LinkKind.MERGED_INTO and view.outgoing),
        None,
    )
    can_major = staff and major.is_open_major(incident)
    context: dict[str, Any] = {
        "links": links,
        "merged_into": merged_into,
        "can_link": staff and open_,
        "can_merge": staff and open_,
        "can_declare": staff and incident.state in major.OPEN_STATES and not incident.is_major,
        "can_post_official_update": can_major,
        "can_stand_down": can_major,
        "major": major_status(incident),
    }
    if context["can_link"]:
        context["link_form"] = LinkForm()
    if context["can_merge"]:
        context["merge_form"] = MergeForm(initial={"version": incident.version})
    if context["can_declare"]:
        context["major_form"] = DeclareMajorForm(
            initial={"version": incident.version, "commander": viewer.pk}
        )
    if can_major:
        context["official_update_form"] = OfficialUpdateForm()
        context["stand_down_form"] = StandDownForm(initial={"version": incident.version})
    return context


# --- Helpers ------------------------------------------------------------------------------------


def _incident(user: User, number: str) -> Incident:
    incident = (
        visible_to(user, Incident.objects.select_related("service", "commander"))
        .filter(number=number)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _other(user: User, number: str, *, field: str) -> Incident:
    """The incident a form names; unknown and invisible read the same."""
    other = visible_to(user, Incident.objects.select_related("service")).filter(number=number)
    found = other.first()
    if found is None:
        raise NotFound(f"There is no incident {number}.", field=field)
    return found


def _require_staff_page(user: User) -> None:
    # The actions refuse too; this keeps requesters from even seeing the staff forms.
    if not is_staff(user):
        raise PermissionDenied("Only service desk staff can do this.")


def _back(incident: Incident, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("incidents:detail", args=[incident.number])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


def _form_page(
    request: HttpRequest,
    incident: Incident,
    form: ShellForm,
    *,
    title: str,
    action: str,
    submit: str,
    intro: str = "",
    danger: bool = False,
    extra_fields: dict[str, str] | None = None,
) -> HttpResponse:
    """A form of the panels on a page of its own: after a refusal (400), or opened directly."""
    return render(
        request,
        "incidents/major_form.html",
        {
            "incident": incident,
            "form": form,
            "title": title,
            "action": action,
            "submit": submit,
            "intro": intro,
            "danger": danger,
            "extra_fields": extra_fields or {},
        },
        status=400 if form.is_bound else 200,
    )


# --- Links --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    _require_staff_page(user)
    form = LinkForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            other = _other(user, form.cleaned_data["incident"], field="incident")
            linking.do_link(user, incident, other, form.cleaned_data["kind"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{incident.number} is now linked to {other.number}.")
            return _back(incident, "links")
    return _form_page(
        request,
        incident,
        form,
        title=f"Link {incident.number} to another incident",
        action=reverse("incidents:link", args=[incident.number]),
        submit="Link",
    )


@login_required
@require_POST
def unlink(request: HttpRequest, number: str, pk: int) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    found = (
        visible_to(user, IncidentLink.objects.select_related("from_incident", "to_incident"))
        .filter(pk=pk)
        .first()
    )
    if found is None or incident.pk not in (found.from_incident_id, found.to_incident_id):
        raise Http404("No such link.")
    try:
        linking.do_unlink(user, incident, found)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        other = found.to_incident if found.from_incident_id == incident.pk else found.from_incident
        messages.success(request, f"The link to {other.number} was removed.")
    return _back(incident, "links")


# --- Merge --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, number: str) -> HttpResponse:
    """Two steps: the first submission shows what will move; the confirmed one merges."""
    user = current_user(request)
    duplicate = _incident(user, number)
    _require_staff_page(user)
    form = MergeForm(
        request.POST if request.method == "POST" else None,
        initial={"version": duplicate.version},
    )
    action = reverse("incidents:merge", args=[duplicate.number])
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            survivor = _other(user, data["into"], field="into")
            if not data["confirm"]:
                linking.check_merge(user, duplicate, survivor)
                return _merge_review(request, duplicate, survivor, data["version"])
            linking.do_merge(user, duplicate, survivor, expected_version=data["version"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{duplicate.number} was merged into {survivor.number}.")
            return _back(survivor)
    return _form_page(
        request,
        duplicate,
        form,
        title=f"Merge {duplicate.number} into another incident",
        action=action,
        submit="Review the merge",
    )


def _merge_review(
    request: HttpRequest, duplicate: Incident, survivor: Incident, version: int
) -> HttpResponse:
    """What the merge will do, with the button that does it."""
    counts = Incident.objects.filter(pk=duplicate.pk).aggregate(
        affected=Count("affected", distinct=True),
        followers=Count("followers", distinct=True),
        entries=Count("timeline", distinct=True),
        attachments=Count("attachments", distinct=True),
    )
    return render(
        request,
        "incidents/merge_confirm.html",
        {
            "duplicate": duplicate,
            "survivor": survivor,
            "counts": counts,
            "version": version,
            "action": reverse("incidents:merge", args=[duplicate.number]),
        },
    )


# --- Major incidents ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def declare_major(request: HttpRequest, number: str) -> HttpResponse:
    """Declare a major incident, or (``intent=stand_down``) end the process."""
    user = current_user(request)
    incident = _incident(user, number)
    _require_staff_page(user)
    if request.method == "POST" and request.POST.get("intent") == STAND_DOWN:
        return _stand_down(request, user, incident)
    form = DeclareMajorForm(
        request.POST if request.method == "POST" else None,
        initial={"version": incident.version, "commander": user.pk},
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            major.do_declare_major(
                user,
                incident,
                reason=data["reason"],
                commander=data["commander"],
                cadence_minutes=data["cadence_minutes"],
                expected_version=data["version"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(
                request,
                f"{incident.number} is a major incident, commanded by "
                f"{data['commander'].display_name}.",
            )
            return _back(incident, "major")
    return _form_page(
        request,
        incident,
        form,
        title=f"Declare {incident.number} a major incident",
        action=reverse("incidents:major-declare", args=[incident.number]),
        submit="Declare major incident",
        intro=(
            "The incident becomes P1 and public (unless confidential), everyone who may see "
            "its service is told, and the commander owes an official update at each interval."
        ),
        danger=True,
    )


def _stand_down(request: HttpRequest, user: User, incident: Incident) -> HttpResponse:
    form = StandDownForm(request.POST)
    if form.is_valid():
        try:
            major.do_stand_down(
                user,
                incident,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{incident.number} is no longer a major incident.")
            return _back(incident, "major")
    return _form_page(
        request,
        incident,
        form,
        title=f"Stand down major incident {incident.number}",
        action=reverse("incidents:major-declare", args=[incident.number]),
        submit="Stand down",
        extra_fields={"intent": STAND_DOWN},
    )


@login_required
@require_http_methods(["GET", "POST"])
def official_update(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    _require_staff_page(user)
    form = OfficialUpdateForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            major.do_post_official_update(user, incident, body=form.cleaned_data["body"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Official update posted; everyone following was told.")
            return _back(incident, "major")
    return _form_page(
        request,
        incident,
        form,
        title=f"Official update on {incident.number}",
        action=reverse("incidents:major-update", args=[incident.number]),
        submit="Post official update",
    )
