"""Incident pages: the incident itself with its live timeline, reporting one, and a person's own
incidents (docs/incidents.md, "Pages").

Everything shown goes through ``core.visibility`` (an incident the viewer may not see is a 404,
never a 403); every change goes through ``incidents.actions``, the same calls the API makes.
A refused change re-renders the page with the form and its errors (status 400) and changes
nothing; a forbidden one is a 403 page. Successful posts redirect back (PRG).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.api.pagination import Keyset
from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError, NotFound, ValidationFailed
from hashdesk.core.redaction import Finding, Redacted
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents import actions, major_views, panels
from hashdesk.incidents.api import incident_detail_for, incident_for, visible_incidents
from hashdesk.incidents.choices import FINAL_STATES, Channel, State
from hashdesk.incidents.forms import (
    AssignForm,
    EditForm,
    IncidentCreateForm,
    TransitionForm,
    UpdateForm,
    services_for,
)
from hashdesk.incidents.lifecycle import OPEN_STATES, allowed_next
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower
from hashdesk.incidents.timeline_display import describe_timeline
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user

# How many open incidents of a service the report form offers to join ("Is it just me?").
OPEN_ON_SERVICE = 5
MINE_PAGE_SIZE = 25
# My incidents: most recently changed first; the id makes the keyset unique.
MINE_ORDER = Keyset(("-updated_at", "-id"))
MINE_TABS = {
    "reported": "Reported by me",
    "affecting": "Affecting me",
    "following": "Following",
}
MINE_STATUSES = {"open": "Open", "closed": "Resolved and closed"}


# --- Looking incidents up (visibility first) ----------------------------------------------------


def _incident(user: User, number: str) -> Incident:
    try:
        return incident_for(user, number)
    except NotFound:
        raise Http404("No such incident.") from None


def _incident_with_timeline(user: User, number: str) -> Incident:
    try:
        return incident_detail_for(user, number)
    except NotFound:
        raise Http404("No such incident.") from None


def _back_to(incident: Incident, anchor: str = "") -> HttpResponse:
    url = reverse("incidents:detail", args=[incident.number])
    return redirect(f"{url}#{anchor}" if anchor else url)


# --- What the viewer may do -------------------------------------------------------------------


@dataclass(frozen=True)
class Offers:
    """The controls the page shows. They mirror the actions' rules so nobody is offered a
    button that can only fail; the actions still decide every request."""

    comment: bool
    transitions: tuple[str, ...]
    assign: bool
    edit: bool
    me_too: bool
    leave: bool
    follow: bool
    unfollow: bool
    cancel: bool
    reopen: bool

    @property
    def states_offered(self) -> tuple[str, ...]:
        if self.cancel:
            return (State.CANCELLED,)
        if self.reopen:
            return (State.IN_PROGRESS,)
        return self.transitions


def offers_for(user: User, incident: Incident) -> Offers:
    staff = is_staff(user)
    final = incident.state in FINAL_STATES
    own = incident.reporter_id == user.pk
    affected = bool(getattr(incident, "is_affected", False))
    following = bool(getattr(incident, "is_following", False))
    return Offers(
        comment=not final,
        transitions=tuple(allowed_next(incident.state)) if staff else (),
        assign=staff and not final,
        edit=not final and (staff or (own and incident.state == State.NEW)),
        me_too=not final and not affected,
        leave=not final and affected,
        follow=not following,
        unfollow=following,
        cancel=not staff and own and incident.state == State.NEW,
        reopen=not staff and own and incident.state == State.RESOLVED,
    )


# --- The incident page ------------------------------------------------------------------------


def _forms(
    user: User, incident: Incident, offers: Offers, bound: dict[str, ShellForm]
) -> dict[str, ShellForm | None]:
    """Fresh forms for what the viewer may do, with the one just refused (bound) in its place."""
    staff = is_staff(user)
    offered = offers.states_offered
    forms: dict[str, ShellForm | None] = {
        "update": UpdateForm(staff=staff) if offers.comment else None,
        "transition": (
            TransitionForm(incident=incident, offered=offered, for_requester=not staff)
            if offered
            else None
        ),
        "assign": AssignForm(user=user, incident=incident) if offers.assign else None,
        "edit": EditForm(user=user, incident=incident, staff=staff) if offers.edit else None,
    }
    forms.update(bound)
    return forms


LIVE_FRAGMENT = "incidents/includes/detail_live.html"


def _detail_context(
    request: HttpRequest, incident: Incident, bound: dict[str, ShellForm]
) -> dict[str, Any]:
    """What the page and its live fragment show, the attachments, links and major panels too."""
    user = current_user(request)
    staff = is_staff(user)
    offers = offers_for(user, incident)
    forms = _forms(user, incident, offers, bound)
    context: dict[str, Any] = {
        "incident": incident,
        "is_staff": staff,
        "offers": offers,
        "entries": describe_timeline(user, incident.visible_timeline),  # type: ignore[attr-defined]
        # SLA clocks are the desk's commitments; requesters are told progress, not targets.
        "clocks": list(incident.sla_clocks.all()) if staff else [],
        "followers_count": IncidentFollower.objects.filter(incident=incident).count(),
        "update_form": forms["update"],
        "transition_form": forms["transition"],
        "assign_form": forms["assign"],
        "edit_form": forms["edit"],
        "edit_open": "edit" in bound,
        "timeline_url": reverse("incidents:timeline", args=[incident.number]),
        "routing_suggestion": _routing_suggestion(incident) if offers.assign else None,
    }
    context.update(
        attachments=list(visible_to(user, incident.attachments.select_related("uploaded_by"))),
        can_attach=incident.state not in FINAL_STATES,
        # The links and major-incident panels bring their own context (links, forms, …).
        **major_views.detail_context(request, incident),
        # Other apps' panels (incidents/panels.py), registered in their AppConfig.ready().
        detail_panels=panels.panels_for(request, incident),
    )
    return context


def _routing_suggestion(incident: Incident) -> dict[str, Any] | None:
    """The learned assignment group of an incident no group has yet (insights/routing.py)."""
    if incident.assignment_group_id is not None:
        return None
    from hashdesk.insights import routing

    found = routing.suggest(
        f"{incident.title}\n{incident.description}",
        service_id=incident.service_id,
        reporter_id=incident.reporter_id,
        groups=1,
        category=False,
    ).best_group
    if found is None:
        return None
    return {"team": found.team, "percent": round(found.confidence * 100)}


def _page(
    request: HttpRequest,
    number: str,
    *,
    bound: dict[str, ShellForm] | None = None,
    template: str = "incidents/detail.html",
) -> HttpResponse:
    incident = _incident_with_timeline(current_user(request), number)
    context = _detail_context(request, incident, bound or {})
    return render(request, template, context, status=400 if bound else 200)


@login_required
@require_GET
@live_page
def detail(request: HttpRequest, number: str) -> HttpResponse:
    return _page(request, number)


@login_required
@require_GET
@never_cache
def timeline_fragment(request: HttpRequest, number: str) -> HttpResponse:
    """The page's live parts (header, timeline, panels, controls), fetched by incident-live.js
    when an event about the incident arrives. Same visibility as the page: work notes only for
    staff."""
    return _page(request, number, template=LIVE_FRAGMENT)


@login_required
@require_POST
def add_update(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    form = UpdateForm(request.POST, staff=is_staff(user))
    if form.is_valid():
        try:
            entry = actions.do_add_update(
                user, incident, body=form.cleaned_data["body"], public=form.public
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(
                request, "Your update is posted." if form.public else "Your work note is added."
            )
            if entry.data.get("redactions"):
                found = tuple(Finding(**item) for item in entry.data["redactions"])
                messages.warning(request, Redacted("", found).summary(before="saving it"))
            return _back_to(incident, f"entry-{entry.pk}")
    return _page(request, number, bound={"update": form})


@login_required
@require_POST
def edit(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    form = EditForm(request.POST, user=user, incident=incident, staff=is_staff(user))
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, f"Nothing to save: {incident.number} is as it was.")
            return _back_to(incident)
        try:
            actions.do_update_incident(
                user, incident, expected_version=form.cleaned_data["version"], **changes
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{incident.number} is saved.")
            return _back_to(incident)
    return _page(request, number, bound={"edit": form})


@login_required
@require_POST
def transition(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    form = TransitionForm(
        request.POST,
        incident=incident,
        offered=offers_for(user, incident).states_offered,
        for_requester=not is_staff(user),
    )
    if form.is_valid():
        to_state = form.cleaned_data["to_state"]
        try:
            actions.do_transition(user, incident, to_state, **form.transition_arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if incident.state == State.RESOLVED and to_state == State.IN_PROGRESS:
                messages.success(request, f"{incident.number} is reopened.")
            else:
                messages.success(
                    request, f"{incident.number} is now {State(to_state).label.lower()}."
                )
            return _back_to(incident)
    return _page(request, number, bound={"transition": form})


@login_required
@require_POST
def assign(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = _incident(user, number)
    form = AssignForm(request.POST, user=user, incident=incident)
    if form.is_valid():
        try:
            assigned = actions.do_assign(
                user,
                incident,
                expected_version=form.cleaned_data["version"],
                group=form.cleaned_data["group"],
                assignee=form.cleaned_data["assignee"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            owner = assigned.assignee or assigned.assignment_group
            messages.success(request, f"{incident.number} is assigned to {owner}.")
            return _back_to(incident)
    return _page(request, number, bound={"assign": form})


def _yes_or_no(request: HttpRequest, name: str) -> bool:
    """A small POSTed switch; anything but "no" means yes, the button's only other value."""
    return request.POST.get(name, "yes") != "no"


@login_required
@require_POST
def me_too(request: HttpRequest, number: str) -> HttpResponse:
    """ "Me too" (``affected=yes``) or "Not affected any more" (``affected=no``)."""
    user = current_user(request)
    incident = _incident(user, number)
    try:
        if _yes_or_no(request, "affected"):
            actions.do_add_affected_user(user, incident, user, channel=Channel.WEB)
            messages.success(
                request,
                f"You are affected by {incident.number} too. You follow it now and will hear "
                "about every update.",
            )
        else:
            actions.do_remove_affected_user(user, incident, user)
            messages.success(
                request,
                f"You are no longer affected by {incident.number}. You still follow it; "
                "unfollow to stop hearing about it.",
            )
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return _back_to(incident)


@login_required
@require_POST
def follow(request: HttpRequest, number: str) -> HttpResponse:
    """Follow (``follow=yes``) or unfollow (``follow=no``)."""
    user = current_user(request)
    incident = _incident(user, number)
    try:
        if _yes_or_no(request, "follow"):
            actions.do_follow(user, incident)
            messages.success(request, f"You follow {incident.number}.")
        else:
            actions.do_unfollow(user, incident)
            messages.success(request, f"You no longer follow {incident.number}.")
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return _back_to(incident)


# --- Reporting ----------------------------------------------------------------------------------


def open_incidents_on(user: User, service: Service) -> list[Incident]:
    """Open incidents on ``service`` that ``user`` may see, to join instead of duplicating."""
    mine = AffectedUser.objects.filter(incident=OuterRef("pk"), user_id=user.pk)
    incidents = (
        visible_incidents(user)
        .filter(service=service, state__in=OPEN_STATES)
        .annotate(is_affected=Exists(mine))
        .order_by("-is_major", "priority", "-created_at", "-id")
    )
    return list(incidents[:OPEN_ON_SERVICE])


def _chosen_service(user: User, slug: str | None) -> Service | None:
    if not slug:
        return None
    return services_for(user).filter(slug=slug).first()


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    staff = is_staff(user)
    source = request.POST if request.method == "POST" else request.GET
    service = _chosen_service(user, source.get("service"))
    if request.method == "GET" and request.GET.get("part") == "open-incidents":
        # report.js asks for this list when the service changes, without leaving the form.
        return render(
            request,
            "incidents/includes/report_open_incidents.html",
            {
                "service": service,
                "open_incidents": open_incidents_on(user, service) if service else [],
                # The device choices follow the service (report.js swaps them in).
                "item_choices": IncidentCreateForm(user=user, staff=staff, service=service)[
                    "configuration_item"
                ],
            },
        )
    if request.method == "POST" and "check" not in request.POST:
        form = IncidentCreateForm(request.POST, user=user, staff=staff, service=service)
        if form.is_valid():
            try:
                incident = actions.do_create_incident(
                    user, source=Channel.WEB, **form.create_arguments()
                )
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(
                    request,
                    f"{incident.number} is reported. You follow it and will hear about every "
                    "update.",
                )
                return _back_to(incident)
    elif request.method == "POST":
        # "Check for open incidents" without JavaScript: the same form, kept, not validated.
        form = IncidentCreateForm(
            initial=request.POST.dict(), user=user, staff=staff, service=service
        )
    else:
        form = IncidentCreateForm(
            initial={"service": service.slug if service else None},
            user=user,
            staff=staff,
            service=service,
        )
    return render(
        request,
        "incidents/create.html",
        {
            "form": form,
            "service": service,
            "open_incidents": open_incidents_on(user, service) if service else [],
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# --- My incidents -------------------------------------------------------------------------------


def _mine(user: User, tab: str, status: str) -> QuerySet[Incident]:
    incidents = visible_incidents(user)
    if tab == "affecting":
        incidents = incidents.filter(
            pk__in=AffectedUser.objects.filter(user_id=user.pk).values("incident_id")
        )
    elif tab == "following":
        incidents = incidents.filter(
            pk__in=IncidentFollower.objects.filter(user_id=user.pk).values("incident_id")
        )
    else:
        incidents = incidents.filter(reporter_id=user.pk)
    if status == "closed":
        return incidents.exclude(state__in=OPEN_STATES)
    return incidents.filter(state__in=OPEN_STATES)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    tab = request.GET.get("tab", "reported")
    tab = tab if tab in MINE_TABS else "reported"
    status = request.GET.get("status", "open")
    status = status if status in MINE_STATUSES else "open"
    rows = _mine(user, tab, status).order_by(*MINE_ORDER.fields)
    cursor = request.GET.get("cursor")
    if cursor:
        try:
            rows = rows.filter(MINE_ORDER.after(MINE_ORDER.decode(cursor, Incident)))
        except ValidationFailed as error:
            messages.error(request, error.detail)
            cursor = None
    page = list(rows[: MINE_PAGE_SIZE + 1])
    next_url = None
    if len(page) > MINE_PAGE_SIZE:
        page = page[:MINE_PAGE_SIZE]
        next_cursor = MINE_ORDER.encode(page[-1])
        next_url = "?" + urlencode({"tab": tab, "status": status, "cursor": next_cursor})
    return render(
        request,
        "incidents/mine.html",
        {
            "incidents": page,
            "tabs": [
                {
                    "label": label,
                    "url": "?" + urlencode({"tab": key, "status": status}),
                    "current": key == tab,
                }
                for key, label in MINE_TABS.items()
            ],
            "statuses": [
                {
                    "label": label,
                    "url": "?" + urlencode({"tab": tab, "status": key}),
                    "current": key == status,
                }
                for key, label in MINE_STATUSES.items()
            ],
            "tab_label": MINE_TABS[tab],
            "status_label": MINE_STATUSES[status],
            "first_url": "?" + urlencode({"tab": tab, "status": status}) if cursor else None,
            "next_url": next_url,
        },
    )
