"""The wall's stories of docs/PRODUCT (1, 2, 7 and 8), end to end in Chromium over the real event
server: what a requester sees while typing, a burst of posts an agent turns into an incident in
one click, a colleague's answer that earns reputation once it demonstrably prevented tickets,
and secrets and confidential incidents that never reach anyone who should not see them. Two
browser sessions show what one person does arriving live at the other."""

from __future__ import annotations

import re
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
from hashdesk.notify.models import Notification
from hashdesk.wall import actions, reputation
from hashdesk.wall.models import Post, ReputationAward

pytestmark = pytest.mark.browser

SECRET = "Hunter2Hunter2"


def test_story_1_is_it_just_me_then_me_too_instead_of_posting(
    open_tab: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    make_person: Any,
    vpn_service: Any,
) -> None:
    incident = incident_actions.do_create_incident(
        other_requester,
        title="VPN drops every few minutes",
        description="Disconnects all morning.",
        service=vpn_service,
    )
    # The desk has made the outage public: every requester may see it.
    incident = incident_actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility="public"
    )
    for n in range(3):
        colleague = make_person(f"colleague{n}@example.test", roles=[Role.REQUESTER])
        actions.do_post(colleague, body=f"#vpn drops every {n + 4} minutes since this morning")

    tab = open_tab()
    tab.sign_in(requester)
    tab.open("/wall/")
    tab.page.get_by_label("What is going on?").fill("#vpn drops every 5 min since 9am")
    panel = tab.page.locator("[data-suggestions]")
    panel.get_by_text("Similar posts").wait_for()
    text = panel.inner_text()
    assert re.search(r"\b3 reports in the last hour, usually 0\b", text), text
    assert incident.number in text and "VPN drops every few minutes" in text
    assert panel.get_by_text("since this morning").count() == 3

    # One click on the incident's "Me too" replaces posting.
    panel.get_by_role("button", name=f"Me too on {incident.number}").click()
    tab.page.get_by_text(f"You are affected by {incident.number} too.").wait_for()
    assert AffectedUser.objects.filter(incident=incident, user=requester).exists()
    assert IncidentFollower.objects.filter(incident=incident, user=requester).exists()
    assert not Post.objects.filter(author=requester).exists()
    assert tab.console_errors == []


BURST = [
    "#wifi down in building B",
    "No #wifi in building B since 10",
    "#wifi building B keeps dropping",
    "#wifi dead on floor 2 of building B",
    "building B #wifi down for everyone here",
    "#wifi in building B is down again",
]


def test_story_2_a_burst_of_posts_becomes_one_incident_in_one_click(
    open_tab: Any, requester: User, vpn_agent: User, make_person: Any
) -> None:
    catalog_actions.do_create_service(
        None, name="Wi-Fi", hashtag="wifi", visibility=Visibility.PUBLIC
    )
    desk = open_tab()
    desk.sign_in(vpn_agent)
    desk.open("/wall/everyone/")
    desk.wait_until_live()
    reader = open_tab()
    reader.sign_in(requester)
    reader.open("/wall/tags/wifi/")
    reader.wait_until_live()

    authors = [requester] + [
        make_person(f"building.b{n}@example.test", roles=[Role.REQUESTER])
        for n in range(len(BURST) - 1)
    ]
    posts = []
    for author, text in zip(authors, BURST, strict=True):
        with transaction.atomic():
            posts.append(actions.do_post(author, body=text))

    # The agent's wall announces the burst live; the side panel shows it trending.
    desk.page.get_by_role("button", name=f"{len(BURST)} new posts — show").click()
    desk.page.locator("[data-wall-list] > [data-post-id]").nth(len(BURST) - 1).wait_for()
    desk.open("/wall/everyone/")
    trending = desk.page.locator(".wall-trending li").first
    assert "#wifi" in trending.inner_text() and f"{len(BURST)} in the last hour" in (
        trending.inner_text()
    )

    # Promote: the burst's other posts are offered ticked; one click records the incident.
    desk.open(f"/wall/posts/{posts[0].pk}/")
    desk.page.get_by_text("Promote to incident", exact=True).click()
    offered = desk.page.get_by_role("checkbox")
    assert offered.count() == len(BURST) - 1
    assert all(offered.nth(n).is_checked() for n in range(offered.count()))
    desk.page.get_by_role("button", name="Record the incident").click()
    desk.page.wait_for_url(re.compile(r"/incidents/INC-\d{6}/$"))

    incident = Incident.objects.get()
    assert incident.service.hashtag == "wifi"
    assert set(Post.objects.values_list("incident", flat=True)) == {incident.pk}
    people = {author.pk for author in authors}
    affected = AffectedUser.objects.filter(incident=incident).values_list("user", flat=True)
    assert set(affected) == people
    assert set(IncidentFollower.objects.values_list("user", flat=True)) >= people

    # The authors get its updates: the desk's public word is an official post on the service's
    # wall, live, and a notification to each of them.
    with transaction.atomic():
        incident_actions.do_add_update(
            vpn_agent, incident, body="An access point in building B failed.", public=True
        )
    # The burst and the official post: the bar counts everything new since the page loaded.
    reader.page.get_by_role("button", name=f"{len(BURST) + 1} new posts — show").click()
    official = reader.page.locator("[data-wall-list] > [data-post-id]").first
    official.get_by_text("An access point in building B failed.").wait_for()
    assert "Official" in official.inner_text()
    assert Notification.objects.filter(kind="incident.update").count() == len(BURST)
    assert desk.console_errors == [] and reader.console_errors == []


def test_story_8_secrets_are_redacted_and_confidential_incidents_never_show(
    open_tab: Any, requester: User, other_requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    mine = open_tab()
    mine.sign_in(requester)
    mine.open("/wall/everyone/")
    mine.wait_until_live()
    theirs = open_tab()
    theirs.sign_in(other_requester)
    theirs.open("/wall/everyone/")
    theirs.wait_until_live()

    mine.page.get_by_label("What is going on?").fill(
        f"#vpn rejects me, my password: {SECRET} is right"
    )
    mine.page.get_by_role("button", name="Post", exact=True).click()
    mine.page.get_by_text("We removed a password before posting.").wait_for()
    mine.page.get_by_text("[redacted password]").first.wait_for()

    # A phishing incident marked confidential: its public update makes no official post, and
    # nothing about it reaches the requesters' walls, live or on reload.
    phishing = incident_actions.do_create_incident(
        vpn_agent,
        title="Phishing mail asking for VPN passwords",
        description="Do not click.",
        service=vpn_service,
    )
    phishing = incident_actions.do_update_incident(
        vpn_agent, phishing, expected_version=phishing.version, visibility="confidential"
    )
    with transaction.atomic():
        incident_actions.do_add_update(
            vpn_agent, phishing, body="Phishing campaign contained.", public=True
        )

    # The colleague's wall announced exactly one new post: the redacted one.
    theirs.page.get_by_role("button", name="1 new post — show").click()
    theirs.page.get_by_text("[redacted password]").wait_for()
    for tab in (mine, theirs):
        tab.open("/wall/everyone/")
        content = tab.page.content()
        assert SECRET not in content
        assert "Phishing" not in content and phishing.number not in content
        tab.page.get_by_label("What is going on?").fill("#vpn phishing mail passwords")
        tab.page.locator("[data-suggestions]").get_by_text("About").wait_for()
        assert phishing.number not in tab.page.locator("[data-suggestions]").inner_text()
        assert tab.console_errors == []
    assert not Post.objects.filter(body__contains=SECRET).exists()


def test_story_7_an_accepted_answer_earns_reputation_once_it_prevented_tickets(
    open_tab: Any, requester: User, other_requester: User, make_person: Any, settings: Any
) -> None:
    question = actions.do_post(
        requester, body="How do I map the #printers on floor 3?", question=True
    )
    asker = open_tab()
    asker.sign_in(requester)
    asker.open(f"/wall/posts/{question.pk}/")
    asker.wait_until_live()

    # A colleague answers; the asker sees the reply arrive without reloading, and accepts it.
    with transaction.atomic():
        answer = actions.do_post(
            other_requester,
            body="Settings → Printers → Add, then pick FLOOR3-MFP.",
            reply_to=question,
        )
    asker.page.get_by_role("button", name="1 new reply — show").click()
    asker.page.get_by_role(
        "button", name=f"Accept as answer (reply by {other_requester.display_name})"
    ).click()
    accepted = asker.page.locator(f"[data-post-id='{answer.pk}']")
    accepted.get_by_text("Accepted answer").wait_for()

    # Someone else with the same question says it solved it for them too.
    same_question = make_person("floor3@example.test", roles=[Role.REQUESTER])
    reader = open_tab()
    reader.sign_in(same_question)
    reader.open(f"/wall/posts/{question.pk}/")
    reader.page.locator(f"[data-post-id='{answer.pk}']").get_by_role(
        "button", name="Solved it for me too"
    ).click()
    reader.page.locator(
        f"[data-post-id='{answer.pk}'] [data-count='solved']", has_text="1"
    ).wait_for()
    assert set(ReputationAward.objects.values_list("state", flat=True)) == {"pending"}

    # Neither raised a ticket in the window: the reputation is confirmed and shown.
    later = timezone.now() + settings.WALL_DEFLECTION_WINDOW + timezone.timedelta(minutes=1)
    assert reputation.verify_due_awards(later) == 2
    reader.open(f"/wall/people/{other_requester.pk}/")
    reader.page.get_by_text("20 reputation · 1 answer that prevented a ticket").wait_for()
    assert asker.console_errors == [] and reader.console_errors == []
