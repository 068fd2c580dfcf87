"""Pages of questions and answers on the wall (issue 8; docs/wall.md, "Questions and
answers"): the "Unanswered questions" timeline, voting on answers, marking a question and the
leaderboard of helpers by department."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_view
from hashdesk.wall import questions, reputation, votes
from hashdesk.wall.models import WorkaroundProposal
from hashdesk.wall.views import _post, _safe_next, _timeline, _timeline_page
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user

LEADERBOARD_SHOWN = 25


@login_required
@require_GET
@live_page
def unanswered(request: HttpRequest) -> HttpResponse:
    """Questions without an accepted answer, newest first: where helpers are needed."""
    return _timeline_page(request, _timeline(current_user(request), "questions"))


@login_required
@require_POST
def vote(request: HttpRequest, post_id: int) -> HttpResponse:
    """Vote for an answer (``on=yes``) or take the vote back (``on=no``)."""
    user = current_user(request)
    post = _post(user, post_id)
    try:
        if request.POST.get("on", "yes") != "no":
            votes.do_vote(user, post)
        else:
            votes.do_unvote(user, post)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    fallback = reverse("wall:post", args=[post.thread_root_id or post.pk])
    return redirect(f"{_safe_next(request, fallback)}#post-{post.pk}")


@login_required
@require_POST
def mark_question(request: HttpRequest, post_id: int) -> HttpResponse:
    """The author (or staff) marks a post as a question (``on=yes``) or takes the mark off."""
    user = current_user(request)
    post = _post(user, post_id)
    on = request.POST.get("on", "yes") != "no"
    try:
        questions.do_mark_question(user, post, question=on)
        messages.success(
            request,
            "The post is marked as a question." if on else "The post is no longer a question.",
        )
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return redirect(reverse("wall:post", args=[post.pk]))


@login_required
@require_POST
def adopt_workaround(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """A problem manager takes a proposed answer as the problem's workaround."""
    user = current_user(request)
    proposal = WorkaroundProposal.objects.select_related("problem").filter(pk=proposal_id).first()
    if proposal is None or not can_view(user, proposal.problem):
        raise Http404("No such proposal.")
    try:
        questions.do_adopt_workaround(user, proposal)
        messages.success(request, "The answer is now the problem's workaround.")
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return redirect(reverse("problems:detail", args=[proposal.problem.pk]))


@login_required
@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Top helpers by verified reputation, of one department when chosen (``?department=``),
    among the people the viewer may see."""
    user = current_user(request)
    department = request.GET.get("department", "").strip()[:100]
    leaders = reputation.leaders(user, limit=LEADERBOARD_SHOWN, department=department or None)
    return render(
        request,
        "wall/leaderboard.html",
        {
            "leaders": [
                {"leader": leader, "badges": reputation.badges(leader.person)} for leader in leaders
            ],
            "department": department,
            "departments": reputation.departments(user),
        },
    )
