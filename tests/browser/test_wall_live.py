"""The wall, live in Chromium over the real event server: two people have the wall open; a post
by one shows the other a "1 new post" bar without a reload (nothing moves until they ask),
showing it puts the post on top, and reactions change the counts in place."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.wall import actions

pytestmark = pytest.mark.browser


def test_a_new_post_is_announced_and_shown_on_request(
    open_tab: Any, requester: User, other_requester: User, vpn_service: Any
) -> None:
    earlier = actions.do_post(requester, body="Printer on floor 2 is jammed")
    mine = open_tab()
    mine.sign_in(requester)
    mine.open("/wall/everyone/")
    mine.wait_until_live()
    theirs = open_tab()
    theirs.sign_in(other_requester)
    theirs.open("/wall/everyone/")
    theirs.wait_until_live()

    mine.page.get_by_label("What is going on?").fill("#vpn is down again")
    mine.page.get_by_role("button", name="Post", exact=True).click()
    mine.page.get_by_text("Your post is on the wall.").wait_for()

    bar = theirs.page.get_by_role("button", name="1 new post — show")
    bar.wait_for()
    # Announced, not inserted: the reader's list has not moved yet.
    assert theirs.page.locator("[data-post-id]").count() == 1
    bar.click()
    posts = theirs.page.locator("[data-wall-list] > [data-post-id]")
    posts.first.get_by_text("is down again").wait_for()
    assert posts.count() == 2
    assert bar.is_hidden()

    # A reaction elsewhere updates the count in place.
    actions.do_react(requester, earlier, "like")
    theirs.page.locator(
        f"[data-post-id='{earlier.pk}'] [data-count='like']", has_text="1"
    ).wait_for()
    assert mine.console_errors == []
    assert theirs.console_errors == []


def test_replies_arrive_live_below_the_conversation(
    open_tab: Any, requester: User, other_requester: User
) -> None:
    question = actions.do_post(requester, body="Which printer prints A3 on floor 2?")
    tab = open_tab()
    tab.sign_in(requester)
    tab.open(f"/wall/posts/{question.pk}/")
    tab.wait_until_live()
    with transaction.atomic():
        actions.do_post(other_requester, body="The one by the kitchen does A3.", reply_to=question)
    tab.page.get_by_role("button", name="1 new reply — show").click()
    posts = tab.page.locator("[data-wall-list] > [data-post-id]")
    posts.last.get_by_text("The one by the kitchen does A3.").wait_for()
    assert posts.count() == 2
    assert tab.console_errors == []


def test_team_posts_reach_the_team_live(
    open_tab: Any, requester: User, other_requester: User
) -> None:
    from hashdesk.accounts import actions as account_actions

    team = account_actions.do_create_team(None, name="Finance")
    for person in (requester, other_requester):
        account_actions.do_add_team_member(None, team, person)
    tab = open_tab()
    tab.sign_in(requester)
    tab.open("/wall/everyone/")
    # wall-live.js asks for the team's stream before the connection opens, so it is in the
    # hello: once live, the team's posts arrive.
    tab.wait_until_live()
    actions.do_post(other_requester, body="Month end close moved", visibility="team", team=team)
    tab.page.get_by_role("button", name="1 new post — show").click()
    tab.page.get_by_text("Month end close moved").wait_for()
    assert tab.page.locator(".wall-badge", has_text="Team Finance").count() == 1
    assert tab.console_errors == []


def test_is_it_just_me_appears_while_typing(
    open_tab: Any, requester: User, other_requester: User, vpn_service: Any
) -> None:
    actions.do_post(other_requester, body="#vpn disconnects every ten minutes")
    tab = open_tab()
    tab.sign_in(requester)
    tab.open("/wall/")
    tab.page.get_by_label("What is going on?").fill("#vpn disconnects every few minutes")
    panel = tab.page.locator("[data-suggestions]")
    panel.get_by_text("Similar posts").wait_for()
    assert vpn_service.name in panel.inner_text()
    assert tab.page.locator("[data-counter]").inner_text() == "1966 characters left"
    assert tab.console_errors == []


def test_the_wall_works_on_a_phone_without_sideways_scrolling(
    open_tab: Any, requester: User, vpn_service: Any
) -> None:
    post = actions.do_post(requester, body="#vpn " + "verylongwordwithoutspaces" * 8)
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab.sign_in(requester)
    for path in ("/wall/", "/wall/everyone/", "/wall/tags/vpn/", f"/wall/posts/{post.pk}/"):
        response = tab.open(path)
        assert response.status == 200, path
        assert tab.no_horizontal_scroll(), path
        assert tab.page.locator("h1").count() == 1, path
    assert tab.console_errors == []
