"""People and teams pages: administrators manage them; everyone signed in reads the teams.

Every change goes through hashdesk.accounts.actions and every read through
hashdesk.core.visibility. The people pages answer 404 to anyone who may not manage people, so
they do not even show that the administration exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts import actions
from hashdesk.accounts.admin_forms import (
    PeopleFilterForm,
    PersonCreateForm,
    PersonEditForm,
    TeamCreateForm,
    TeamMemberForm,
)
from hashdesk.accounts.choices import Role, TeamRole
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_manage_people, can_manage_teams, visible_to
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]
PEOPLE_PER_PAGE = 50


def _only_for(allowed: Callable[[User], bool]) -> Callable[[View], View]:
    """Signed in and ``allowed``, else 404 (not 403: the page is not there for them)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(current_user(request)):
                raise Http404("No such page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


people_manager_required = _only_for(can_manage_people)
team_manager_required = _only_for(can_manage_teams)


def _person(user: User, person_id: int) -> User:
    return get_object_or_404(visible_to(user, User.objects.all()), pk=person_id)


# --- People -------------------------------------------------------------------------------------


def _filtered_people(user: User, filters: PeopleFilterForm) -> QuerySet[User]:
    people = visible_to(user, User.objects.prefetch_related("groups")).order_by(
        "display_name", "id"
    )
    if not (filters.is_bound and filters.is_valid()):
        return people
    data = filters.cleaned_data
    if text := data["q"].strip():
        people = people.filter(
            Q(display_name__icontains=text)
            | Q(email__icontains=text)
            | Q(department__icontains=text)
            | Q(site__icontains=text)
        )
    if data["role"]:
        people = people.filter(groups__name=data["role"])
    if data["active"]:
        people = people.filter(is_active=data["active"] == "active")
    return people


def _role_labels(person: User) -> list[str]:
    labels = dict(Role.choices)
    # groups are prefetched for the whole page: no query per person.
    return sorted(labels.get(group.name, group.name) for group in person.groups.all())


@people_manager_required
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    filters = PeopleFilterForm(request.GET or None)
    paginator = Paginator(_filtered_people(current_user(request), filters), PEOPLE_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/people/list.html",
        {
            "filters": filters,
            "page": page,
            "rows": [(person, _role_labels(person)) for person in page.object_list],
            "count": paginator.count,
            "query_string": query.urlencode(),
        },
    )


@people_manager_required
@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    form = PersonCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            person = actions.do_invite_user(current_user(request), **form.create_arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(
                request, f"{person.display_name} is added and was sent a mail to set a password."
            )
            return redirect("accounts:person", person_id=person.pk)
    return render(
        request,
        "accounts/people/create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _save_person(user: User, person: User, form: PersonEditForm) -> bool:
    """Apply the form's changes in one transaction; False when there was nothing to change."""
    changes, roles = form.profile_changes(), form.new_roles()
    if not changes and roles is None:
        return False
    actions.do_update_person(user, person, profile=changes, roles=roles)
    return True


@people_manager_required
@require_http_methods(["GET", "POST"])
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    user = current_user(request)
    person = _person(user, person_id)
    form = PersonEditForm(request.POST if request.method == "POST" else None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save_person(user, person, form)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if saved:
                messages.success(request, f"{person.display_name} is saved.")
            else:
                messages.info(request, f"Nothing to save: {person.display_name} is as they were.")
            return redirect("accounts:person", person_id=person.pk)
    memberships = TeamMembership.objects.filter(user=person).select_related("team")
    return render(
        request,
        "accounts/people/detail.html",
        {
            "person": person,
            "form": form,
            "memberships": memberships.order_by("team__name"),
            "is_self": person.pk == user.pk,
        },
        status=400 if form.errors else 200,
    )


@people_manager_required
@require_http_methods(["GET", "POST"])
def person_active(request: HttpRequest, person_id: int) -> HttpResponse:
    """GET asks for confirmation; POST switches the person between active and deactivated."""
    user = current_user(request)
    person = _person(user, person_id)
    if request.method == "GET":
        return render(request, "accounts/people/active_confirm.html", {"person": person})
    try:
        actions.do_set_active(user, person, active=not person.is_active)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        state = "deactivated" if person.is_active else "active again"
        messages.success(request, f"{person.display_name} is {state}.")
    return redirect("accounts:person", person_id=person.pk)


# --- Teams --------------------------------------------------------------------------------------


def _teams_for(user: User) -> QuerySet[Team]:
    leads = TeamMembership.objects.filter(role=TeamRole.LEAD).select_related("user")
    return visible_to(
        user,
        Team.objects.annotate(member_count=Count("memberships")).prefetch_related(
            Prefetch("memberships", queryset=leads, to_attr="lead_memberships")
        ),
    ).order_by("name")


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    return render(
        request,
        "accounts/teams/list.html",
        {"teams": list(_teams_for(user)), "can_manage": can_manage_teams(user)},
    )


def _team_page(request: HttpRequest, team: Team, form: TeamMemberForm | None) -> HttpResponse:
    user = current_user(request)
    members = (
        TeamMembership.objects.filter(team=team, user__in=visible_to(user, User.objects.all()))
        .select_related("user")
        .order_by("role", "user__display_name")  # leads first
    )
    return render(
        request,
        "accounts/teams/detail.html",
        {"team": team, "members": list(members), "form": form},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    team = get_object_or_404(visible_to(user, Team.objects.all()), slug=slug)
    return _team_page(request, team, TeamMemberForm() if can_manage_teams(user) else None)


@team_manager_required
@require_POST
def team_member_add(request: HttpRequest, slug: str) -> HttpResponse:
    user = current_user(request)
    team = get_object_or_404(visible_to(user, Team.objects.all()), slug=slug)
    form = TeamMemberForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"].lower()
        person = visible_to(user, User.objects.all()).filter(email=email).first()
        if person is None:
            form.add_error("email", "There is no person with this email.")
        else:
            try:
                actions.do_add_team_member(user, team, person, role=form.cleaned_data["role"])
            except DomainError as error:
                form.add_domain_error(error)
            else:
                messages.success(request, f"{person.display_name} is in {team.name}.")
                return redirect("accounts:team", slug=team.slug)
    return _team_page(request, team, form)


@team_manager_required
@require_POST
def team_member_remove(request: HttpRequest, slug: str, person_id: int) -> HttpResponse:
    user = current_user(request)
    team = get_object_or_404(visible_to(user, Team.objects.all()), slug=slug)
    person = _person(user, person_id)
    try:
        actions.do_remove_team_member(user, team, person)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{person.display_name} is no longer in {team.name}.")
    return redirect("accounts:team", slug=team.slug)


@team_manager_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            team = actions.do_create_team(current_user(request), **form.cleaned_data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The team {team.name} is created.")
            return redirect("accounts:team", slug=team.slug)
    return render(
        request,
        "accounts/teams/create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
