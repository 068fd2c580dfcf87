"""Recurrence: reports matching a problem after its fix flag it, tell its owner, may reopen it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents.models import Incident
from hashdesk.notify.models import Notification
from hashdesk.problems import offering, recurrence
from hashdesk.problems.actions import do_transition
from hashdesk.problems.choices import ProblemState, RecurrenceKind
from hashdesk.problems.models import Problem, ProblemRecurrence
from hashdesk.wall.actions import do_post
from tests.conftest import PASSWORD


def _resolve(manager: User, problem: Problem) -> Problem:
    return do_transition(manager, problem, "resolved", resolution="Controller timeout raised.")


def test_resolving_starts_the_watch(problem_manager: User, vpn_problem: Problem) -> None:
    problem = _resolve(problem_manager, vpn_problem)
    assert problem.watch_until is not None
    expected = timezone.now() + timedelta(days=recurrence.DEFAULT_WATCH_DAYS)
    assert abs((problem.watch_until - expected).total_seconds()) < 60


def test_a_matching_post_after_the_fix_is_recorded_once(
    problem_manager: User, requester: User, vpn_problem: Problem
) -> None:
    _resolve(problem_manager, vpn_problem)
    post = do_post(requester, body="#vpn drops every 10 minutes again on Wi-Fi")
    offering.answer_post(post.pk)
    offering.answer_post(post.pk)
    row = ProblemRecurrence.objects.get()
    assert (row.problem_id, row.kind, row.object_id) == (vpn_problem.pk, "post", post.pk)
    vpn_problem.refresh_from_db()
    assert vpn_problem.recurrence_flagged_at is not None
    told = Notification.objects.filter(recipient=problem_manager, kind="problem.recurrence")
    assert told.count() == 1


def test_unrelated_reports_and_other_services_are_not_recurrences(
    problem_manager: User, vpn_problem: Problem, sso_service: Service
) -> None:
    _resolve(problem_manager, vpn_problem)
    reports = [
        recurrence.Report(RecurrenceKind.CHAT, 1, "The printer is jammed", None),
        recurrence.Report(RecurrenceKind.CHAT, 2, "VPN drops every 10 minutes", sso_service.pk),
    ]
    assert recurrence.record_reports(reports) == []


def test_no_watch_before_the_fix_nor_after_the_watch(
    problem_manager: User, vpn_problem: Problem
) -> None:
    report = recurrence.Report(RecurrenceKind.CHAT, 7, "VPN drops every 10 minutes", None)
    assert recurrence.record_reports([report]) == []
    problem = _resolve(problem_manager, vpn_problem)
    later = (problem.watch_until or timezone.now()) + timedelta(minutes=1)
    assert recurrence.record_reports([report], now=later) == []


def test_new_incident_after_the_fix_and_reopening(
    problem_manager: User,
    requester: User,
    vpn_service: Service,
    vpn_problem: Problem,
    report: Callable[..., Incident],
) -> None:
    _resolve(problem_manager, vpn_problem)
    incident = report(requester, vpn_service, "VPN disconnects every ten minutes on Wi-Fi")
    offering.offer_to_incidents([incident.pk])
    assert ProblemRecurrence.objects.filter(kind="incident", object_id=incident.pk).exists()
    client = Client()
    client.login(email=problem_manager.email, password=PASSWORD)
    page = client.get(reverse("problems:detail", args=[vpn_problem.pk])).content.decode()
    assert "Reported again after the fix" in page
    flagged = client.get(reverse("problems:list"), {"recurring": "on"}).content.decode()
    assert vpn_problem.number in flagged
    vpn_problem.refresh_from_db()
    problem = do_transition(problem_manager, vpn_problem, "investigating")
    assert problem.state == ProblemState.INVESTIGATING
    assert problem.recurrence_flagged_at is None and problem.watch_until is None
