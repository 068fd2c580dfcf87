"""Story 4 of docs/PRODUCT (part 1) end to end in Chromium: over six weeks fourteen people at
three sites reported Outlook crashing on calendar attachments, in their own words; the
recurring-pattern job groups them into a problem candidate; the problem manager sees it with
its evidence, accepts it and lands on the new problem with the fourteen incidents linked. Part 2
(root cause, workaround, known error) is tests/browser/test_problem_story.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.demo.problems_pattern import OUTLOOK_REPORTS, SITES, make_outlook_incidents
from hashdesk.incidents.models import Incident
from hashdesk.insights.candidates import refresh_candidates
from hashdesk.insights.models import ProblemCandidate
from hashdesk.problems.models import ProblemIncident

pytestmark = pytest.mark.browser


def test_story_4_the_pattern_becomes_a_candidate_and_the_problem_manager_accepts_it(
    open_tab: Any, problem_manager: User, make_person: Any
) -> None:
    email = catalog_actions.do_create_service(None, name="E-mail", hashtag="email")
    people = [
        make_person(f"user{n}@example.test", roles=[Role.REQUESTER], site=SITES[n % 3])
        for n in range(len(OUTLOOK_REPORTS))
    ]
    ids = make_outlook_incidents(email, people, timezone.now())
    refresh_candidates()
    candidate = ProblemCandidate.objects.get()

    tab = open_tab()
    tab.sign_in(problem_manager)
    page = tab.page
    page.get_by_role("link", name="Insights").first.click()
    page.wait_for_url(re.compile(r"/insights/candidates/$"))
    row = page.locator("tr", has_text=candidate.title)
    row.wait_for()
    assert "14 incidents" in row.inner_text()
    assert "3 sites" in row.inner_text()
    assert row.get_by_role("img").count() == 1  # the weekly trend

    row.get_by_role("link", name=candidate.title).click()
    page.get_by_role("heading", name="Representative reports").wait_for()
    assert page.get_by_text("14 people").is_visible()
    page.get_by_role("button", name="Accept: create the problem").click()

    page.wait_for_url(re.compile(r"/problems/\d+/$"))
    candidate.refresh_from_db()
    assert page.url.endswith(f"/problems/{candidate.problem_id}/")
    linked = set(
        ProblemIncident.objects.filter(problem_id=candidate.problem_id).values_list(
            "incident_id", flat=True
        )
    )
    assert linked == set(ids)
    body = page.locator("main").inner_text()
    for number in Incident.objects.filter(pk__in=ids).values_list("number", flat=True):
        assert number in body
    assert not tab.console_errors
