"""Story 2 of docs/PRODUCT end to end in Chromium, through the burst detector: after a quiet
baseline, six people in building B post about #wifi within minutes; the minute job (called here
as the worker would) raises a probable incident that appears live on the agent's open
/insights/bursts/ page; one click promotes it; the posts are linked to the incident, their
authors are affected, and they get its public update."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower
from hashdesk.insights.bursts import live
from hashdesk.insights.choices import ProbableState
from hashdesk.insights.models import ProbableIncident
from hashdesk.notify.models import Notification
from hashdesk.wall import actions
from hashdesk.wall.models import Post

pytestmark = pytest.mark.browser

BURST = [
    "#wifi down in building B",
    "No #wifi in building B since 10",
    "#wifi building B keeps dropping",
    "#wifi dead on floor 2 of building B",
    "building B #wifi down for everyone here",
    "#wifi in building B is down again",
]


def test_story_2_the_detector_raises_a_burst_live_and_one_click_promotes_it(
    open_tab: Any, requester: User, vpn_agent: User, network_team: Any, make_person: Any
) -> None:
    catalog_actions.do_create_service(
        None, name="Wi-Fi", hashtag="wifi", owner_team=network_team, visibility=Visibility.PUBLIC
    )
    # A quiet baseline: one #wifi post every few days, and the detector fed up to now.
    for days in (9, 6, 3):
        with transaction.atomic():
            old = actions.do_post(requester, body=f"#wifi slow in the canteen ({days})")
        Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=days))
    assert live.run_minute().raised == 0

    desk = open_tab()
    desk.sign_in(vpn_agent)
    desk.open("/insights/bursts/")
    desk.wait_until_live()
    desk.page.get_by_text("No burst right now.").wait_for()

    authors = [requester] + [
        make_person(f"building.b{n}@example.test", roles=[Role.REQUESTER])
        for n in range(len(BURST) - 1)
    ]
    for author, text in zip(authors, BURST, strict=True):
        with transaction.atomic():
            actions.do_post(author, body=text)

    summary = live.run_minute()  # the worker's minute job
    assert summary.raised == 1
    probable = ProbableIncident.objects.get()
    assert probable.title == "Burst on #wifi: 6 reports in 5 minutes, usually 0"

    # It appears on the open page without a reload, with its reports.
    card = desk.page.locator(f"#probable-{probable.pk}")
    card.wait_for()
    assert probable.title in card.inner_text()
    assert card.get_by_role("listitem").filter(has_text="building B").count() == len(BURST)
    assert Notification.objects.filter(recipient=vpn_agent, kind="insights.burst").exists()

    # One click promotes it.
    card.get_by_role("button", name=re.compile(r"^Promote")).click()
    desk.page.wait_for_url(re.compile(r"/incidents/INC-\d{6}/$"))
    incident = Incident.objects.get()
    probable.refresh_from_db()
    assert probable.state == ProbableState.PROMOTED and probable.incident == incident
    assert incident.service.hashtag == "wifi" and incident.visibility == Visibility.PUBLIC
    burst_posts = Post.objects.filter(body__in=BURST)
    assert set(burst_posts.values_list("incident", flat=True)) == {incident.pk}
    people = {author.pk for author in authors}
    assert set(AffectedUser.objects.filter(incident=incident).values_list("user", flat=True)) == (
        people
    )
    assert set(IncidentFollower.objects.values_list("user", flat=True)) >= people

    # The authors get its public update.
    with transaction.atomic():
        incident_actions.do_add_update(
            vpn_agent, incident, body="An access point in building B failed.", public=True
        )
    told = Notification.objects.filter(kind="incident.update").values_list("recipient", flat=True)
    assert set(told) == people
    reader = open_tab()
    reader.sign_in(authors[1])
    reader.open(f"/incidents/{incident.number}/")
    reader.page.locator("main").get_by_text(
        "An access point in building B failed."
    ).first.wait_for()

    # Back on the list, it is decided.
    desk.open("/insights/bursts/")
    desk.page.get_by_text("No burst right now.").wait_for()
    assert incident.number in desk.page.locator("#bursts-decided-title + ul").inner_text()
    assert desk.console_errors == [] and reader.console_errors == []
