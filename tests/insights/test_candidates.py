"""Problem candidates: the clustering job on the database, accept and dismiss, pages and API
(insights/candidates.py, candidate_views.py, api_candidates.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.demo.problems_pattern import OUTLOOK_REPORTS, SITES, make_outlook_incidents
from hashdesk.incidents.actions import do_create_incident
from hashdesk.incidents.models import Incident
from hashdesk.insights.candidates import (
    do_accept_candidate,
    do_dismiss_candidate,
    impact_of,
    refresh_candidates,
)
from hashdesk.insights.choices import CandidateState
from hashdesk.insights.models import CandidateItem, ProblemCandidate
from hashdesk.problems.models import ProblemIncident
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def email_service(db: Any) -> Service:
    return catalog_actions.do_create_service(None, name="E-mail", hashtag="email")


@pytest.fixture
def reporters(make_person: Callable[..., User]) -> list[User]:
    return [
        make_person(f"reporter{n}@example.test", roles=[Role.REQUESTER], site=SITES[n % 3])
        for n in range(len(OUTLOOK_REPORTS))
    ]


@pytest.fixture
def outlook(email_service: Service, reporters: list[User]) -> list[int]:
    return make_outlook_incidents(email_service, reporters, timezone.now())


def _noise(email_service: Service, person: User) -> None:
    for title in ("Mailbox full", "Bounce from partner domain", "Signature image missing"):
        do_create_incident(person, title=title, description=title, service=email_service)


def _client(person: User) -> Client:
    client = Client()
    assert client.login(email=person.email, password=PASSWORD)
    return client


def test_the_job_groups_the_fourteen_reports_into_one_candidate_with_evidence(
    outlook: list[int], email_service: Service, requester: User, capture_events: Any
) -> None:
    _noise(email_service, requester)

    with capture_events() as events:
        stats = refresh_candidates()

    assert stats["created"] == 1
    candidate = ProblemCandidate.objects.get()
    assert candidate.state == CandidateState.OPEN
    assert candidate.service_id == email_service.pk
    assert candidate.size == 14
    assert sorted(
        CandidateItem.objects.filter(candidate=candidate).values_list("object_id", flat=True)
    ) == sorted(outlook)
    evidence = candidate.evidence
    assert evidence["incidents"] == 14 and evidence["posts"] == 0 and evidence["chats"] == 0
    assert evidence["people"] == 14
    assert evidence["sites"] == sorted(SITES)
    assert len(evidence["trend"]) == 6 and sum(evidence["trend"]) == 14
    assert {r["id"] for r in evidence["representatives"]} <= set(outlook)
    assert "text" not in evidence["representatives"][0]
    assert {"outlook", "calendar", "attachment"} <= set(candidate.top_terms)
    assert candidate.title.startswith("E-mail: ")
    assert candidate.impact > 0
    assert [e.type for e in events] == ["problem_candidate"]
    assert events[0].streams == ["staff"]


def test_a_rerun_updates_the_same_candidate(outlook: list[int], reporters: list[User]) -> None:
    refresh_candidates()
    first = ProblemCandidate.objects.get()
    do_create_incident(
        reporters[0],
        title="Outlook crashes opening calendar attachments",
        description="Outlook crashes on the attachment of a calendar invite.",
        service=first.service,
    )

    stats = refresh_candidates()

    assert stats["created"] == 0 and stats["updated"] == 1
    again = ProblemCandidate.objects.get()
    assert again.pk == first.pk and again.size == 15


def test_accept_creates_the_problem_with_the_incidents_linked(
    outlook: list[int], problem_manager: User, capture_events: Any
) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()

    with capture_events() as events:
        problem = do_accept_candidate(problem_manager, candidate)

    candidate.refresh_from_db()
    assert candidate.state == CandidateState.ACCEPTED
    assert candidate.problem_id == problem.pk and candidate.decided_by == problem_manager
    assert sorted(
        ProblemIncident.objects.filter(problem=problem).values_list("incident_id", flat=True)
    ) == sorted(outlook)
    assert list(problem.services.all()) == [candidate.service]
    assert "14 reports" in problem.description
    assert AuditEntry.objects.filter(action="problem_candidate.accept").count() == 1
    assert "problem_candidate" in {e.type for e in events}
    with pytest.raises(Conflict):
        do_accept_candidate(problem_manager, candidate)

    # Linked incidents are no longer clustered; the accepted candidate stays as it is.
    refresh_candidates()
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.ACCEPTED and candidate.problem_id == problem.pk
    assert ProblemCandidate.objects.count() == 1


def test_requesters_can_neither_accept_nor_dismiss(outlook: list[int], requester: User) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()

    with pytest.raises(Forbidden):
        do_accept_candidate(requester, candidate)
    with pytest.raises(Forbidden):
        do_dismiss_candidate(requester, candidate, "no")
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.OPEN


def test_dismissed_is_not_proposed_again_unless_it_doubles(
    email_service: Service, reporters: list[User], vpn_agent: User
) -> None:
    now = timezone.now()
    make_outlook_incidents(email_service, reporters[:6], now)
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    with pytest.raises(ValidationFailed):
        do_dismiss_candidate(vpn_agent, candidate, "  ")

    do_dismiss_candidate(vpn_agent, candidate, "Users opening malware samples")

    candidate.refresh_from_db()
    assert candidate.state == CandidateState.DISMISSED and candidate.dismissed_size == 6
    # Grows a little: still dismissed (and the reason is kept).
    make_outlook_incidents(email_service, reporters[6:9], now)
    refresh_candidates()
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.DISMISSED and candidate.size == 9
    assert candidate.evidence["dismissed_reason"] == "Users opening malware samples"
    # Doubles: proposed again.
    make_outlook_incidents(email_service, reporters[9:12], now)
    refresh_candidates()
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.OPEN and candidate.size == 12


def test_merged_duplicates_and_old_reports_are_left_out(
    outlook: list[int], vpn_agent: User
) -> None:
    Incident.objects.filter(pk=outlook[0]).update(merged_into_id=outlook[1])
    Incident.objects.filter(pk=outlook[2]).update(created_at=timezone.now() - timedelta(weeks=7))

    refresh_candidates()

    assert ProblemCandidate.objects.get().size == 12


def test_an_open_candidate_that_disappears_is_removed(outlook: list[int]) -> None:
    refresh_candidates()
    Incident.objects.filter(pk__in=outlook).update(created_at=timezone.now() - timedelta(weeks=10))

    stats = refresh_candidates()

    assert stats["removed"] == 1 and not ProblemCandidate.objects.exists()


def test_impact_rises_with_people_sites_recency_and_frustration() -> None:
    base = {"people": 5, "sites": ["A"], "trend": [1, 1, 1, 1, 1, 1], "days_since_last": 1.0}
    assert impact_of({**base, "people": 10}, 6) > impact_of(base, 6)
    assert impact_of({**base, "sites": ["A", "B", "C"]}, 6) > impact_of(base, 6)
    assert impact_of({**base, "days_since_last": 30.0}, 6) < impact_of(base, 6)
    assert impact_of({**base, "trend": [0, 0, 0, 0, 3, 3]}, 6) > impact_of(base, 6)
    assert impact_of({**base, "sentiment": -0.6, "frustrated_share": 0.5}, 6) > impact_of(base, 6)


# --- Pages --------------------------------------------------------------------------------------


def test_the_list_and_detail_pages_show_the_evidence(
    outlook: list[int], problem_manager: User, query_count: Any
) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    client = _client(problem_manager)

    page = client.get("/insights/candidates/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "14 incidents" in text and "3 sites" in text
    assert "<svg" in text and "Reports per week" in text

    detail = client.get(f"/insights/candidates/{candidate.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "Representative reports" in body
    assert OUTLOOK_REPORTS[0][0] in body
    assert "Accept: create the problem" in body


def test_the_list_page_query_count_does_not_grow_with_candidates(
    email_service: Service, reporters: list[User], problem_manager: User, query_count: Any
) -> None:
    make_outlook_incidents(email_service, reporters, timezone.now())
    refresh_candidates()
    client = _client(problem_manager)
    client.get("/insights/candidates/")
    with query_count() as one:
        client.get("/insights/candidates/")
    ProblemCandidate.objects.create(signature="x", title="Another", size=5, impact=1)
    ProblemCandidate.objects.create(signature="y", title="A third", size=5, impact=1)
    with query_count() as three:
        client.get("/insights/candidates/")
    assert len(three) == len(one)


def test_accept_on_the_page_opens_the_new_problem(
    outlook: list[int], problem_manager: User
) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()

    response = _client(problem_manager).post(f"/insights/candidates/{candidate.pk}/accept/")

    candidate.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/problems/{candidate.problem_id}/"


def test_dismiss_on_the_page_needs_a_reason(outlook: list[int], vpn_agent: User) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    client = _client(vpn_agent)

    refused = client.post(f"/insights/candidates/{candidate.pk}/dismiss/", {"reason": ""})
    assert refused.status_code == 400
    done = client.post(f"/insights/candidates/{candidate.pk}/dismiss/", {"reason": "Expected"})
    assert done.status_code == 302
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.DISMISSED


def test_requesters_get_404_on_every_candidate_page(outlook: list[int], requester: User) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    client = _client(requester)

    assert client.get("/insights/candidates/").status_code == 404
    assert client.get(f"/insights/candidates/{candidate.pk}/").status_code == 404
    assert client.post(f"/insights/candidates/{candidate.pk}/accept/").status_code == 404
    candidate.refresh_from_db()
    assert candidate.state == CandidateState.OPEN


# --- API ----------------------------------------------------------------------------------------


def test_api_lists_reads_accepts_and_dismisses(
    outlook: list[int], email_service: Service, reporters: list[User], problem_manager: User
) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    client = _client(problem_manager)

    listed = client.get("/api/v1/insights/candidates").json()["items"]
    assert [c["id"] for c in listed] == [candidate.pk]
    assert listed[0]["evidence"]["incidents"] == 14
    one = client.get(f"/api/v1/insights/candidates/{candidate.pk}").json()
    assert len(one["items"]) == 14 and one["hidden"] == 0
    assert client.get("/api/v1/insights/candidates?state=nope").status_code in (400, 422)
    assert client.get("/api/v1/insights/candidates/999999").status_code == 404

    refused = client.post(
        f"/api/v1/insights/candidates/{candidate.pk}/dismiss",
        {"reason": ""},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused["Content-Type"].startswith("application/problem+json")

    accepted = client.post(f"/api/v1/insights/candidates/{candidate.pk}/accept")
    assert accepted.status_code == 201
    assert accepted.json()["candidate"]["state"] == "accepted"
    assert accepted.json()["problem_number"].startswith("PRB-")
    again = client.post(f"/api/v1/insights/candidates/{candidate.pk}/accept")
    assert again.status_code == 409


def test_api_hides_candidates_from_requesters(outlook: list[int], requester: User) -> None:
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()
    client = _client(requester)

    assert client.get("/api/v1/insights/candidates").json() == {"items": [], "next_cursor": None}
    assert client.get(f"/api/v1/insights/candidates/{candidate.pk}").status_code == 404
    assert client.post(f"/api/v1/insights/candidates/{candidate.pk}/accept").status_code == 404


def test_candidates_come_in_pages_by_impact_on_the_page_and_in_the_api(
    problem_manager: Any, vpn_service: Any
) -> None:
    for number in range(30):
        ProblemCandidate.objects.create(
            signature=f"pattern-{number}",
            title=f"VPN pattern {number}",
            service=vpn_service,
            impact=float(number),
            size=5,
            evidence={"incidents": 5, "people": 3, "sites": [], "trend": []},
        )
    browser = Client()
    browser.force_login(problem_manager)
    first = browser.get("/insights/candidates/").content.decode()
    # 25 a page, highest impact first: 29 down to 5, then 4 down to 0.
    assert "VPN pattern 29" in first and "VPN pattern 5<" in first and "VPN pattern 4<" not in first
    assert "Page 1 of 2" in first
    second = browser.get("/insights/candidates/?state=open&page=2").content.decode()
    assert "VPN pattern 4<" in second and "VPN pattern 5<" not in second

    api = Client()
    api.force_login(problem_manager)
    page = api.get("/api/v1/insights/candidates?limit=20").json()
    assert [c["title"] for c in page["items"]][:2] == ["VPN pattern 29", "VPN pattern 28"]
    assert page["next_cursor"]
    rest = api.get(f"/api/v1/insights/candidates?limit=20&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 10 and rest["next_cursor"] is None
