"""Publishing a known error: the article, the wall, the affected people — once each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.visibility import can_view
from hashdesk.incidents.models import Incident
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.notify.models import Notification
from hashdesk.problems.actions import do_link_incidents, do_update_problem
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.known_errors import do_publish_known_error
from hashdesk.problems.models import Problem, ProblemIncident
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Post

WORKAROUND = "Use the wired network or reconnect with 'vpn --keepalive 60'."


def _ready(manager: User, problem: Problem) -> Problem:
    return do_update_problem(
        manager,
        problem,
        expected_version=problem.version,
        root_cause="The Wi-Fi controller drops idle VPN sessions after 600 seconds.",
        workaround=WORKAROUND,
    )


def test_needs_root_cause_and_workaround(problem_manager: User, vpn_problem: Problem) -> None:
    with pytest.raises(ValidationFailed) as error:
        do_publish_known_error(problem_manager, vpn_problem)
    assert error.value.field == "root_cause"


def test_requesters_may_not_publish(requester: User, vpn_problem: Problem) -> None:
    with pytest.raises(Forbidden):
        do_publish_known_error(requester, vpn_problem)


def test_publish_writes_article_wall_post_and_notices(
    problem_manager: User,
    requester: User,
    other_requester: User,
    vpn_service: Service,
    vpn_problem: Problem,
    capture_events: Callable[[], Any],
    query_count: Callable[[], Any],
) -> None:
    problem = _ready(problem_manager, vpn_problem)
    with capture_events() as events:
        problem = do_publish_known_error(problem_manager, problem)
    assert problem.state == ProblemState.KNOWN_ERROR
    article = problem.known_error_article
    assert article is not None
    assert article.title == "Known error: VPN drops every 10 minutes"
    assert article.state == ArticleState.PUBLISHED
    assert article.visibility == ArticleVisibility.PUBLIC
    assert WORKAROUND.split("'")[0] in article.body
    assert can_view(requester, article)
    official = Post.objects.get(kind=PostKind.OFFICIAL, service=vpn_service)
    assert article.number in official.body and official.author == problem_manager
    # Each affected person once, though the requester reported two of the incidents.
    told = Notification.objects.filter(kind="known_error")
    assert sorted(n.recipient_id for n in told) == sorted([requester.pk, other_requester.pk])
    assert all(n.url.endswith(f"/{article.number}/") for n in told)
    assert not ProblemIncident.objects.filter(workaround_sent_at__isnull=True).exists()
    types = {(e.type, e.op) for e in events}
    assert ("problem", "known_error") in types and ("wall_post", "create") in types


def test_publish_queries_do_not_grow_with_incidents(
    problem_manager: User,
    requester: User,
    other_requester: User,
    vpn_service: Service,
    report: Callable[..., Incident],
    vpn_problem: Problem,
    query_count: Callable[[], Any],
) -> None:
    from hashdesk.problems.actions import do_create_problem

    problem = _ready(problem_manager, vpn_problem)
    with query_count() as few:
        do_publish_known_error(problem_manager, problem)
    many_incidents = [
        report(person, vpn_service, f"VPN drop number {n}")
        for n in range(5)
        for person in (requester, other_requester)
    ]
    bigger = _ready(
        problem_manager,
        do_create_problem(
            problem_manager,
            title="VPN drops on the train",
            incident_ids=[i.pk for i in many_incidents],
        ),
    )
    with query_count() as many:
        do_publish_known_error(problem_manager, bigger)
    assert len(many) == len(few)
    assert Notification.objects.filter(kind="known_error").count() == 4


def test_republish_is_a_new_version_and_tells_nobody_twice(
    problem_manager: User, vpn_problem: Problem
) -> None:
    problem = do_publish_known_error(problem_manager, _ready(problem_manager, vpn_problem))
    first = problem.known_error_article
    assert first is not None
    sent = Notification.objects.filter(kind="known_error").count()
    problem = do_update_problem(
        problem_manager,
        problem,
        expected_version=problem.version,
        workaround="Update the VPN client to 5.2.",
    )
    problem = do_publish_known_error(problem_manager, problem)
    article = problem.known_error_article
    assert article is not None and article.pk == first.pk
    assert article.version == first.version + 1
    assert "5.2" in article.body
    assert Notification.objects.filter(kind="known_error").count() == sent


def test_incidents_linked_later_are_told_once(
    problem_manager: User,
    requester: User,
    make_person: Callable[..., User],
    vpn_service: Service,
    report: Callable[..., Incident],
    vpn_problem: Problem,
) -> None:
    do_publish_known_error(problem_manager, _ready(problem_manager, vpn_problem))
    late = make_person("late@example.test", roles=["requester"])
    incident = report(late, vpn_service, "VPN fell over again")
    vpn_problem.refresh_from_db()
    do_link_incidents(problem_manager, vpn_problem, [incident.pk])
    assert Notification.objects.filter(recipient=late, kind="known_error").count() == 1
    link = ProblemIncident.objects.get(incident=incident)
    assert link.workaround_sent_at is not None


def test_confidential_incidents_tell_staff_only(
    problem_manager: User,
    vpn_agent: User,
    requester: User,
    vpn_service: Service,
    report: Callable[..., Incident],
) -> None:
    from hashdesk.incidents.actions import do_update_incident
    from hashdesk.problems.actions import do_create_problem

    incident = report(requester, vpn_service, "VPN token leaked in a phishing mail")
    incident = do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility="confidential"
    )
    problem = _ready(
        problem_manager,
        do_create_problem(problem_manager, title="Phishing", incident_ids=[incident.pk]),
    )
    do_publish_known_error(problem_manager, problem)
    assert not Notification.objects.filter(recipient=requester, kind="known_error").exists()
    assert ProblemIncident.objects.get(incident=incident).workaround_sent_at is not None
