"""Problem pages under ``/problems/`` (staff only; docs/problems.md, "Pages").

The list with its filters, a problem's page (incidents, services, root cause, workaround,
known-error article, fix change, recurrences, timeline from the audit trail), and the forms
that create, edit, move, link and publish. A refused form comes back, bound, with status 400.
Requesters get 404 everywhere: they may not know a problem exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_manage_problems, is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems import actions, known_errors, lifecycle
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.forms import (
    FilterForm,
    LinkForm,
    ProblemCreateForm,
    ProblemEditForm,
    TransitionForm,
    incident_ids,
)
from hashdesk.problems.models import Problem
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.requests import current_user

PAGE_SIZE = 50
TIMELINE_MAX = 100


def _staff(request: HttpRequest) -> User:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such page.")
    return user


def problem_for(user: User, pk: int) -> Problem:
    problem = (
        visible_to(
            user,
            Problem.objects.select_related(
                "owner", "owner_team", "fix_change", "known_error_article", "created_by"
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if problem is None:
        raise Http404("No such problem.")
    return problem


@login_required
@require_GET
def problem_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    form = FilterForm(request.GET or None, user=user)
    problems = visible_to(user, Problem.objects.select_related("owner")).annotate(
        incident_count=Count("incident_links", distinct=True)
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            problems = problems.filter(state=data["state"])
        if data["service"] is not None:
            problems = problems.filter(services=data["service"])
        if data["q"]:
            q = data["q"].strip()
            problems = problems.filter(
                Q(title__icontains=q)
                | Q(number__iexact=q)
                | Q(description__icontains=q)
                | Q(root_cause__icontains=q)
            )
        if data["known_error"]:
            problems = problems.filter(known_error_published_at__isnull=False)
        if data["recurring"]:
            problems = problems.filter(recurrence_flagged_at__isnull=False)
    page = Paginator(problems.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "problems/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "may_manage": can_manage_problems(user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def problem_new(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    if request.method == "POST":
        form = ProblemCreateForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            ids, missing = incident_ids(user, data["incidents"])
            if missing:
                form.add_error("incidents", f"No such incident: {', '.join(missing)}.")
            else:
                try:
                    problem = actions.do_create_problem(
                        user,
                        title=data["title"],
                        description=data["description"],
                        service_ids=[s.pk for s in data["services"]],
                        incident_ids=ids,
                    )
                except DomainError as error:
                    form.add_domain_error(error)
                else:
                    messages.success(request, f"{problem.number} is open.")
                    return redirect(reverse("problems:detail", args=[problem.pk]))
        return render(request, "problems/new.html", {"form": form}, status=400)
    initial = {"incidents": request.GET.get("incidents", ""), "title": request.GET.get("title", "")}
    return render(
        request, "problems/new.html", {"form": ProblemCreateForm(initial=initial, user=user)}
    )


def _timeline(problem: Problem) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="problems.problem", object_id=str(problem.pk))
        .select_related("actor")
        .order_by("-sequence")[:TIMELINE_MAX]
    )


@login_required
@require_GET
def problem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return problem_page(request, pk)


def problem_page(
    request: HttpRequest, pk: int, *, bound: dict[str, ShellForm] | None = None
) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    bound = bound or {}
    links = {link.incident_id: link for link in problem.incident_links.select_related("linked_by")}
    # The incidents' own rules decide which linked incidents this viewer is shown.
    incidents = list(
        visible_to(user, Incident.objects.filter(pk__in=list(links)))
        .select_related("service", "assignee")
        .order_by("-created_at")
    )
    hidden = len(links) - len(incidents)
    may_manage = can_manage_problems(user) and problem.state not in lifecycle.FINAL_STATES
    context: dict[str, Any] = {
        "problem": problem,
        "incidents": [(incident, links[incident.pk]) for incident in incidents],
        "hidden_incidents": hidden,
        "services": list(problem.services.order_by("name")),
        "configuration_items": list(problem.configuration_items.order_by("name")),
        "recurrences": list(problem.recurrences.all()[:50]),
        "timeline": _timeline(problem),
        "may_manage": may_manage,
        "may_publish": may_manage
        and bool(problem.root_cause.strip() and problem.workaround.strip()),
        "states": ProblemState,
    }
    if may_manage:
        context["edit_form"] = bound.get("edit") or ProblemEditForm(
            initial=ProblemEditForm.initial_for(problem), user=user
        )
        context["transition_form"] = bound.get("transition") or TransitionForm(
            initial={"version": problem.version}, problem=problem
        )
        context["link_form"] = bound.get("link") or LinkForm()
    return render(request, "problems/detail.html", context, status=400 if bound else 200)


@login_required
@require_POST
def problem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    form = ProblemEditForm(request.POST, user=user)
    if form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            actions.do_update_problem(user, problem, expected_version=version, **data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{problem.number} is saved.")
            return redirect(reverse("problems:detail", args=[problem.pk]))
    return problem_page(request, pk, bound={"edit": form})


@login_required
@require_POST
def problem_transition(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    form = TransitionForm(request.POST, problem=problem)
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = actions.do_transition(
                user,
                problem,
                data["state"],
                expected_version=data["version"],
                resolution=data["resolution"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{moved.number} is {moved.get_state_display().lower()}.")
            return redirect(reverse("problems:detail", args=[problem.pk]))
    return problem_page(request, pk, bound={"transition": form})


@login_required
@require_POST
def problem_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    form = LinkForm(request.POST)
    if form.is_valid():
        ids, missing = incident_ids(user, form.cleaned_data["incidents"])
        if missing:
            form.add_error("incidents", f"No such incident: {', '.join(missing)}.")
        else:
            try:
                links = actions.do_link_incidents(user, problem, ids)
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(request, f"{len(links)} incident(s) linked to {problem.number}.")
                back = request.POST.get("next", "")
                if back.startswith("/incidents/"):
                    return redirect(back)
                return redirect(reverse("problems:detail", args=[problem.pk]))
    return problem_page(request, pk, bound={"link": form})


@login_required
@require_POST
def problem_unlink(request: HttpRequest, pk: int, incident_id: int) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    try:
        actions.do_unlink_incident(user, problem, incident_id)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, "The incident is no longer linked.")
    return redirect(reverse("problems:detail", args=[problem.pk]))


@login_required
@require_POST
def problem_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    problem = problem_for(user, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        published = known_errors.do_publish_known_error(user, problem, expected_version=version)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        article = published.known_error_article
        messages.success(
            request,
            f"The known error is published ({article.number if article else ''}); "
            "the affected people have been told.",
        )
    return redirect(reverse("problems:detail", args=[problem.pk]))


@login_required
@require_POST
def link_from_incident(request: HttpRequest) -> HttpResponse:
    """The incident page's "Link to problem": back to the incident."""
    user = _staff(request)
    try:
        pk = int(request.POST.get("problem", ""))
    except ValueError:
        raise Http404("No such problem.") from None
    problem = problem_for(user, pk)
    ids, missing = incident_ids(user, [request.POST.get("incident", "")])
    if missing or not ids:
        raise Http404("No such incident.")
    incident = Incident.objects.get(pk=ids[0])
    try:
        actions.do_link_incidents(user, problem, ids)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{incident.number} is linked to {problem.number}.")
    return redirect(reverse("incidents:detail", args=[incident.number]))
