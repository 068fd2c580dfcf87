"""Timelines: what each lists, cursor pages, and a constant number of queries per page."""

from __future__ import annotations

import pytest

from hashdesk.core.errors import ValidationFailed
from hashdesk.wall import actions, timelines
from hashdesk.wall.choices import FollowKind, PostVisibility
from hashdesk.wall.models import Hashtag


def test_home_lists_what_i_follow_and_my_own_posts(
    requester, other_requester, ana, make_person, vpn_service, finance_team
):
    stranger = make_person("stranger@example.test")
    mine = actions.do_post(requester, body="my own")
    on_service = actions.do_post(stranger, body="#vpn slow")
    tagged = actions.do_post(stranger, body="#printers jammed")
    by_person = actions.do_post(ana, body="hello from Ana")
    thread = actions.do_post(stranger, body="a thread")
    reply = actions.do_post(other_requester, body="a reply", reply_to=thread)
    actions.do_post(stranger, body="unrelated")
    actions.do_follow(requester, FollowKind.SERVICE, vpn_service)
    actions.do_follow(requester, FollowKind.HASHTAG, Hashtag.objects.get(name="printers"))
    actions.do_follow(requester, FollowKind.PERSON, ana)
    actions.do_follow(requester, FollowKind.THREAD, thread)
    home = list(timelines.home(requester).order_by("-created_at", "-id"))
    assert home == [reply, thread, by_person, tagged, on_service, mine]


def test_home_audience_agrees_with_each_persons_home_timeline_in_one_query(
    requester, other_requester, ana, make_person, vpn_service, django_assert_num_queries
):
    stranger = make_person("stranger@example.test")
    bystander = make_person("bystander@example.test")
    people = [requester, other_requester, ana, stranger, bystander]
    thread = actions.do_post(stranger, body="a thread")
    actions.do_follow(requester, FollowKind.SERVICE, vpn_service)
    actions.do_follow(
        other_requester, FollowKind.HASHTAG, Hashtag.objects.get_or_create(name="printers")[0]
    )
    actions.do_follow(ana, FollowKind.THREAD, thread)
    actions.do_follow(bystander, FollowKind.PERSON, ana)
    posts = [
        thread,
        actions.do_post(stranger, body="#vpn slow"),
        actions.do_post(stranger, body="#printers jammed"),
        actions.do_post(ana, body="hello from Ana"),
        actions.do_post(other_requester, body="a reply", reply_to=thread),
        actions.do_post(requester, body="#printers mine"),
        actions.do_post(stranger, body="unrelated"),
    ]
    for post in posts:
        expected = {p.pk for p in people if timelines.home(p).filter(pk=post.pk).exists()}
        with django_assert_num_queries(1):
            audience = timelines.home_audience(post, [p.pk for p in people])
        assert audience == expected, post.body
    assert timelines.home_audience(posts[1], []) == set()


def test_service_hashtag_mentions_and_public_timelines(
    requester, other_requester, ana, vpn_agent, vpn_service, finance_team
):
    vpn = actions.do_post(requester, body="#vpn down")
    team = actions.do_post(
        requester, body="#vpn team", visibility=PostVisibility.TEAM, team=finance_team
    )
    mention = actions.do_post(other_requester, body="@ana.lopez look #coffee")
    tag = Hashtag.objects.get(name="vpn")
    assert list(timelines.service(other_requester, vpn_service)) == [vpn]
    assert list(timelines.service(requester, vpn_service)) == [team, vpn]
    assert list(timelines.hashtag(other_requester, tag)) == [vpn]
    assert list(timelines.mentions(ana)) == [mention]
    assert list(timelines.public(other_requester)) == [mention, vpn]
    assert list(timelines.public(vpn_agent)) == [mention, team, vpn]


def test_thread_oldest_first(requester, other_requester):
    root = actions.do_post(requester, body="root")
    first = actions.do_post(other_requester, body="one", reply_to=root)
    second = actions.do_post(requester, body="two", reply_to=first)
    actions.do_post(requester, body="elsewhere")
    page = timelines.page(timelines.thread(other_requester, second), keyset=timelines.OLDEST_FIRST)
    assert page.posts == [root, first, second] and page.next_cursor is None


def test_cursor_pages_walk_the_timeline_without_gaps(requester):
    posts = [actions.do_post(requester, body=f"post {n}") for n in range(7)]
    seen = []
    cursor = None
    while True:
        page = timelines.page(timelines.public(requester), cursor=cursor, limit=3)
        seen += page.posts
        # A new post at the top does not move the next page.
        actions.do_post(requester, body="newer")
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(posts))
    with pytest.raises(ValidationFailed):
        timelines.page(timelines.public(requester), cursor="nonsense")


@pytest.mark.parametrize(
    "timeline", ["home", "public", "mentions", "announcements", "service", "hashtag"]
)
def test_a_page_costs_the_same_queries_for_3_or_30_posts(
    timeline, requester, other_requester, ana, vpn_service, vpn_agent, query_count
):
    actions.do_follow(requester, FollowKind.SERVICE, vpn_service)

    def fill(n):
        for i in range(n):
            author = (other_requester, ana)[i % 2]
            actions.do_post(author, body=f"#vpn #tag{i % 4} down @requester {i}")
            actions.do_announce(vpn_agent, f"#vpn notice {i}", pinned=False)

    def measure():
        tag = Hashtag.objects.get(name="vpn")
        lists = {
            "home": lambda: timelines.home(requester),
            "public": lambda: timelines.public(requester),
            "mentions": lambda: timelines.mentions(requester),
            "announcements": lambda: timelines.announcements(requester),
            "service": lambda: timelines.service(requester, vpn_service),
            "hashtag": lambda: timelines.hashtag(requester, tag),
        }
        with query_count() as ctx:
            page = timelines.page(lists[timeline](), limit=50)
            for post in page.posts:
                _ = (post.author.display_name, post.service, [t.name for t in post.hashtags.all()])
                _ = [p.pk for p in post.mentions.all()]
        return len(page.posts), len(ctx)

    fill(3)
    small_rows, small = measure()
    fill(27)
    large_rows, large = measure()
    assert large_rows > small_rows > 0
    assert large == small
