"""Problem pages: staff only, the list's filters, the forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.incidents.models import Incident
from hashdesk.problems.actions import do_update_problem
from hashdesk.problems.models import Problem, ProblemIncident
from tests.conftest import PASSWORD


def _client(person: User) -> Client:
    client = Client()
    assert client.login(email=person.email, password=PASSWORD)
    return client


def test_requesters_get_404(requester: User, vpn_problem: Problem) -> None:
    client = _client(requester)
    assert client.get(reverse("problems:list")).status_code == 404
    assert client.get(reverse("problems:detail", args=[vpn_problem.pk])).status_code == 404
    assert client.get(reverse("problems:new")).status_code == 404


def test_list_filters(
    problem_manager: User, vpn_problem: Problem, query_count: Callable[[], Any]
) -> None:
    client = _client(problem_manager)
    page = client.get(reverse("problems:list"))
    assert page.status_code == 200 and vpn_problem.number in page.content.decode()
    assert (
        vpn_problem.number
        not in client.get(reverse("problems:list"), {"state": "closed"}).content.decode()
    )
    assert (
        vpn_problem.number in client.get(reverse("problems:list"), {"q": "drops"}).content.decode()
    )
    assert (
        vpn_problem.number
        not in client.get(reverse("problems:list"), {"known_error": "on"}).content.decode()
    )


def test_create_from_the_form(problem_manager: User, vpn_incidents: list[Incident]) -> None:
    client = _client(problem_manager)
    numbers = " ".join(i.number for i in vpn_incidents[:2] if i.number)
    response = client.post(reverse("problems:new"), {"title": "VPN drops", "incidents": numbers})
    assert response.status_code == 302
    problem = Problem.objects.get(title="VPN drops")
    assert ProblemIncident.objects.filter(problem=problem).count() == 2
    bad = client.post(reverse("problems:new"), {"title": "x", "incidents": "INC-999999"})
    assert bad.status_code == 400 and "No such incident" in bad.content.decode()


def test_detail_edit_and_publish(
    problem_manager: User, vpn_problem: Problem, vpn_incidents: list[Incident]
) -> None:
    client = _client(problem_manager)
    url = reverse("problems:detail", args=[vpn_problem.pk])
    page = client.get(url).content.decode()
    assert all(i.number in page for i in vpn_incidents if i.number)
    response = client.post(
        reverse("problems:edit", args=[vpn_problem.pk]),
        {
            "version": vpn_problem.version,
            "title": vpn_problem.title,
            "root_cause": "Idle timeout on the Wi-Fi controller.",
            "workaround": "Use the wired network.",
        },
    )
    assert response.status_code == 302
    stale = client.post(
        reverse("problems:edit", args=[vpn_problem.pk]),
        {"version": vpn_problem.version, "title": "Other"},
    )
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    vpn_problem.refresh_from_db()
    client.post(
        reverse("problems:publish", args=[vpn_problem.pk]), {"version": vpn_problem.version}
    )
    vpn_problem.refresh_from_db()
    assert vpn_problem.known_error_article is not None
    assert vpn_problem.known_error_article.number in client.get(url).content.decode()


def test_transition_refused_is_400(problem_manager: User, vpn_problem: Problem) -> None:
    client = _client(problem_manager)
    response = client.post(
        reverse("problems:transition", args=[vpn_problem.pk]),
        {"version": vpn_problem.version, "state": "resolved"},
    )
    assert response.status_code == 400
    do_update_problem(
        problem_manager, vpn_problem, expected_version=vpn_problem.version, resolution="Fixed"
    )
    vpn_problem.refresh_from_db()
    response = client.post(
        reverse("problems:transition", args=[vpn_problem.pk]),
        {"version": vpn_problem.version, "state": "resolved"},
    )
    assert response.status_code == 302
    vpn_problem.refresh_from_db()
    assert vpn_problem.state == "resolved"


def test_incident_page_shows_the_problem_to_staff_only(
    problem_manager: User, requester: User, vpn_problem: Problem, vpn_incidents: list[Incident]
) -> None:
    url = reverse("incidents:detail", args=[vpn_incidents[0].number])
    staff_page = _client(problem_manager).get(url).content.decode()
    assert f'Problem: <a href="/problems/{vpn_problem.pk}/">{vpn_problem.number}</a>' in staff_page
    assert vpn_problem.number not in _client(requester).get(url).content.decode()


def test_link_from_the_incident_page(
    problem_manager: User,
    requester: User,
    vpn_problem: Problem,
    report: Callable[..., Incident],
    vpn_service: Any,
) -> None:
    incident = report(requester, vpn_service, "VPN gone again")
    response = _client(problem_manager).post(
        reverse("problems:link_incident"),
        {"problem": vpn_problem.pk, "incident": incident.number},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:detail", args=[incident.number])
    assert ProblemIncident.objects.filter(problem=vpn_problem, incident=incident).exists()
    refused = _client(requester).post(
        reverse("problems:link_incident"),
        {"problem": vpn_problem.pk, "incident": incident.number},
    )
    assert refused.status_code == 404
