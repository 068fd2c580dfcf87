"""Offering a known error's workaround to new posts, incidents and live-help questions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.notify.models import Notification
from hashdesk.problems import matching, offering
from hashdesk.problems.actions import do_update_problem
from hashdesk.problems.known_errors import do_publish_known_error
from hashdesk.problems.models import Problem
from hashdesk.wall.actions import do_post
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Post


@pytest.fixture
def known_error(problem_manager: User, vpn_problem: Problem) -> Problem:
    problem = do_update_problem(
        problem_manager,
        vpn_problem,
        expected_version=vpn_problem.version,
        root_cause="The Wi-Fi controller drops idle VPN sessions after 600 seconds.",
        workaround="Use the wired network, or run 'vpn --keepalive 60' before connecting.",
    )
    return do_publish_known_error(problem_manager, problem)


@pytest.fixture
def immediate_tasks() -> Iterator[None]:
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = previous


def test_overlap_scores_what_the_docs_say(known_error: Problem) -> None:
    assert matching.overlap("VPN drops every ten minutes", known_error)[0] >= 0.75
    assert matching.overlap("VPN password reset", known_error)[0] < 0.4


def test_matching_sees_only_published_known_errors(
    requester: User, known_error: Problem, vpn_service: Service
) -> None:
    found = matching.matching_known_errors(
        requester, "My VPN drops every 10 minutes on Wi-Fi", vpn_service
    )
    assert [m.problem.pk for m in found] == [known_error.pk]
    assert found[0].article == known_error.known_error_article
    assert "wired network" in found[0].workaround
    assert matching.matching_known_errors(requester, "   ", vpn_service) == []


def test_a_matching_post_is_answered_once(
    requester: User, problem_manager: User, known_error: Problem
) -> None:
    post = do_post(requester, body="#vpn drops every 10 minutes on Wi-Fi, anyone else?")
    reply_id = offering.answer_post(post.pk)
    assert reply_id is not None
    reply = Post.objects.get(pk=reply_id)
    assert reply.kind == PostKind.OFFICIAL and reply.reply_to_id == post.pk
    assert reply.author == problem_manager
    assert "wired network" in reply.body
    article = known_error.known_error_article
    assert article is not None and article.number in reply.body
    assert offering.answer_post(post.pk) is None
    assert Post.objects.filter(reply_to=post).count() == 1
    post.refresh_from_db()
    assert post.reply_count == 1
    assert Notification.objects.filter(recipient=requester, kind="known_error").exists()


def test_an_unrelated_post_is_not_answered(requester: User, known_error: Problem) -> None:
    post = do_post(requester, body="The coffee machine on floor 3 is out of beans")
    assert offering.answer_post(post.pk) is None


def test_posting_answers_after_commit(
    requester: User,
    known_error: Problem,
    immediate_tasks: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post = do_post(requester, body="#vpn drops every ten minutes on wifi again")
    assert Post.objects.filter(reply_to=post, kind=PostKind.OFFICIAL).count() == 1


def test_replies_are_not_answered(requester: User, known_error: Problem) -> None:
    post = do_post(requester, body="Printer on floor 2 is jammed")
    reply = do_post(requester, body="VPN drops every 10 minutes on Wi-Fi", reply_to=post)
    assert offering.answer_post(reply.pk) is None


def test_a_new_incident_gets_a_public_update_once(
    requester: User,
    vpn_service: Service,
    known_error: Problem,
    report: Callable[..., Incident],
) -> None:
    incident = report(requester, vpn_service, "VPN drops every 10 minutes on Wi-Fi at home")
    assert offering.offer_to_incidents([incident.pk]) == 1
    entry = TimelineEntry.objects.get(incident=incident, data__known_error_problem=known_error.pk)
    assert entry.is_public and "wired network" in entry.body
    assert offering.offer_to_incidents([incident.pk]) == 0


def test_live_help_is_offered_the_workaround(
    requester: User, vpn_service: Service, known_error: Problem
) -> None:
    match = offering.offer_to_help(requester, "VPN drops every ten minutes", vpn_service.pk)
    assert match is not None and match.problem == known_error
    assert offering.offer_to_help(requester, "New laptop please", None) is None


def test_the_live_help_page_shows_the_workaround(
    requester: User, known_error: Problem, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import PASSWORD

    client = Client()
    client.login(email=requester.email, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("chat:help"),
            {"topic": "VPN", "body": "My VPN drops every 10 minutes on Wi-Fi", "client_key": ""},
            follow=True,
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "This may be a known problem" in page and "wired network" in page


def test_posting_costs_no_query_more_with_known_errors(
    requester: User,
    problem_manager: User,
    vpn_problem: Problem,
    query_count: Callable[[], Any],
) -> None:
    do_post(requester, body="#vpn warm up the caches")
    with query_count() as before:
        do_post(requester, body="#vpn drops every 10 minutes on Wi-Fi")
    do_update_problem(
        problem_manager,
        vpn_problem,
        expected_version=vpn_problem.version,
        root_cause="Idle timeout.",
        workaround="Use the wired network.",
    )
    vpn_problem.refresh_from_db()
    do_publish_known_error(problem_manager, vpn_problem)
    with query_count() as after:
        do_post(requester, body="#vpn drops every 10 minutes on Wi-Fi again")
    # The answer is looked for after commit, in a task: posting itself is not slowed.
    assert len(after) == len(before)


def test_a_report_on_another_service_is_not_answered_with_this_workaround(
    requester: User, known_error: Problem, vpn_service: Service, sso_service: Service
) -> None:
    known_error.services.set([vpn_service])
    # The same words, about single sign-on: near enough to show while typing, but not pushed.
    post = do_post(requester, body=f"#{sso_service.hashtag} drops every 10 minutes on Wi-Fi")
    assert post.service == sso_service
    assert offering.answer_post(post.pk) is None
    assert not Post.objects.filter(reply_to=post).exists()
    vpn_post = do_post(requester, body="#vpn drops every 10 minutes on Wi-Fi, anyone else?")
    assert offering.answer_post(vpn_post.pk) is not None
