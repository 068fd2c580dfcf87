"""Posting in bulk (wall/ingest.py): one pipeline for a single post and a batch — checked
before anything is written, all or nothing, errors naming the item, and a batch costing the
same statements whatever its size."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hashdesk.audit.models import AuditEntry
from hashdesk.core import streams
from hashdesk.core.errors import NotFound, RateLimited, ValidationFailed
from hashdesk.notify.models import Notification
from hashdesk.wall import actions, ingest
from hashdesk.wall.choices import ModerationState, PostVisibility, WatchedWordAction
from hashdesk.wall.ingest import NewPost
from hashdesk.wall.models import Hashtag, Post
from tests.api.conftest import as_token  # noqa: F401 (a fixture the API tests below use)
from tests.api.support import assert_problem

SECRET = "Hunter2Secret!"


@pytest.fixture(autouse=True)
def _roomy_batch_limit(settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post_batch": (1000, 60)}


def test_a_batch_is_posted_in_order_with_tags_mentions_replies_audit_and_events(
    requester, other_requester, ana, vpn_service, finance_team, capture_events
):
    root = actions.do_post(other_requester, body="Printers on floor 2 are out")
    items = [
        NewPost(body="#vpn drops for @ana.lopez"),
        NewPost(body="same here", reply_to=root),
        NewPost(body=f"and again, password: {SECRET}", reply_to=root),
        NewPost(body="budget meeting moved", visibility=PostVisibility.TEAM, team=finance_team),
    ]
    with capture_events() as events:
        posts = ingest.do_post_many(requester, items)
    assert [post.body for post in posts][:2] == ["#vpn drops for @ana.lopez", "same here"]
    first, reply, secret_reply, team_post = (Post.objects.get(pk=post.pk) for post in posts)
    assert first.service_id == vpn_service.pk
    assert [tag.name for tag in first.hashtags.all()] == ["vpn"]
    assert [person.pk for person in first.mentions.all()] == [ana.pk]
    assert 'class="mention"' in first.body_html and 'class="hashtag"' in first.body_html
    assert (reply.reply_to_id, reply.thread_root_id) == (root.pk, root.pk)
    assert SECRET not in secret_reply.body and secret_reply.redactions[0]["kind"] == "password"
    assert (team_post.visibility, team_post.team_id) == (PostVisibility.TEAM, finance_team.pk)
    # Two replies to one parent: its counter rises by two in one update.
    root.refresh_from_db()
    assert root.reply_count == 2
    audited = AuditEntry.objects.filter(action="wall.post", after__source="api")
    assert sorted(int(entry.object_id) for entry in audited) == sorted(p.pk for p in posts)
    wall_events = [event for event in events if event.type == "wall_post"]
    assert [event.payload["post"]["id"] for event in wall_events] == [p.pk for p in posts]
    assert wall_events[0].payload["post"]["hashtags"] == ["vpn"]
    assert wall_events[3].streams == sorted([streams.STAFF, streams.team(finance_team.pk)])
    assert Notification.objects.filter(recipient=ana, kind="wall.mention").count() == 1
    assert all(SECRET not in str(event.payload) for event in events)


def test_one_bad_item_refuses_the_batch_naming_it_and_writes_nothing(requester):
    items = [NewPost(body="#fresh-tag fine"), NewPost(body="fine too"), NewPost(body="   ")]
    with pytest.raises(ValidationFailed) as caught:
        ingest.do_post_many(requester, items)
    assert caught.value.field == "posts[2].body"
    assert caught.value.extra["errors"][0]["pointer"] == "/posts/2/body"
    assert not Post.objects.exists()
    assert not Hashtag.objects.exists()
    assert not AuditEntry.objects.filter(action="wall.post").exists()


def test_blocked_words_and_unseen_parents_name_their_item(
    requester, other_requester, vpn_agent, finance_team
):
    actions.do_add_watched_word(vpn_agent, "frobnicate", WatchedWordAction.BLOCK)
    with pytest.raises(ValidationFailed) as caught:
        ingest.do_post_many(requester, [NewPost(body="ok"), NewPost(body="FROBNICATE it")])
    assert caught.value.field == "posts[1].body"
    assert "frobnicate" not in caught.value.detail.lower()
    team_post = actions.do_post(
        requester, body="finance only", visibility=PostVisibility.TEAM, team=finance_team
    )
    with pytest.raises(NotFound) as missing:
        ingest.do_post_many(other_requester, [NewPost(body="peek", reply_to=team_post)])
    assert missing.value.field == "posts[0].reply_to"
    assert Post.objects.count() == 1


def test_a_single_post_names_the_field_alone(requester):
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body="")
    assert caught.value.field == "body"


def test_batches_are_limited_in_size(requester):
    with pytest.raises(ValidationFailed) as caught:
        ingest.do_post_many(requester, [NewPost(body="x")] * (ingest.MAX_BATCH + 1))
    assert caught.value.field == "posts"
    assert ingest.do_post_many(requester, []) == []


def test_held_items_are_held_and_reach_moderators_only(requester, vpn_agent, capture_events):
    actions.do_add_watched_word(vpn_agent, "lawsuit", WatchedWordAction.HOLD)
    with capture_events() as events:
        held, fine = ingest.do_post_many(
            requester, [NewPost(body="a lawsuit"), NewPost(body="all fine")]
        )
    assert (held.moderation, fine.moderation) == (ModerationState.HELD, ModerationState.VISIBLE)
    ops = {event.payload["post"]["id"]: event for event in events if event.type == "wall_post"}
    assert ops[held.pk].op == "held"
    assert streams.MEMBERS not in ops[held.pk].streams
    assert Notification.objects.filter(recipient=vpn_agent, kind="wall.held").count() == 1


def test_hashtag_rows_are_rebound_when_a_service_changes_its_hashtag(requester, vpn_service):
    from hashdesk.catalog.models import Service

    ingest.do_post_many(requester, [NewPost(body="#vpn down"), NewPost(body="#vpn still")])
    Service.objects.filter(pk=vpn_service.pk).update(hashtag="remote-access")
    [post] = ingest.do_post_many(requester, [NewPost(body="#vpn and #remote-access")])
    assert Hashtag.objects.get(name="vpn").service is None
    assert Hashtag.objects.get(name="remote-access").service_id == vpn_service.pk
    assert post.service_id == vpn_service.pk


def _batch(size: int, parents: list[Post], team: Any) -> list[NewPost]:
    """Posts exercising every step: tags (old and new), a mention of the author (resolved,
    never notified), redaction, replies to different parents and a team post."""
    return [
        NewPost(
            body=f"#vpn #topic-{n} @requester password: {SECRET} post {n}",
            reply_to=parents[n % len(parents)] if n % 3 == 0 else None,
            visibility=PostVisibility.TEAM if n % 3 == 1 else PostVisibility.PUBLIC,
            team=team if n % 3 == 1 else None,
        )
        for n in range(size)
    ]


def test_a_batch_costs_the_same_queries_whatever_its_size(
    requester, vpn_service, finance_team, vpn_agent, query_count
):
    actions.do_add_watched_word(vpn_agent, "frobnicate", WatchedWordAction.HOLD)
    parents = [actions.do_post(requester, body=f"root {n}") for n in range(10)]
    ingest.do_post_many(requester, _batch(1, parents, finance_team))  # #vpn's row exists
    # Three items: one of each kind (reply, team post, public post); a smaller batch skips
    # the statements of the kinds it lacks (the parents' update, the author's teams).
    with query_count() as three:
        ingest.do_post_many(requester, _batch(3, parents, finance_team))
    # 38: on SQLite, Django splits an insert of posts every 38 rows (999 parameters a
    # statement, 26 columns); that is the only statement that grows with a batch.
    with query_count() as many:
        ingest.do_post_many(requester, _batch(38, parents, finance_team))
    assert len(many) == len(three), "\n".join(q["sql"][:150] for q in many.captured_queries)
    assert Post.objects.filter(body__contains=SECRET).count() == 0
    # Replies: 1 of the batch of 1, 1 of the batch of 3, 13 of the batch of 38.
    replies = sum(parent.reply_count for parent in Post.objects.filter(body__startswith="root"))
    assert replies == 1 + 1 + 13


def test_mentions_across_a_batch_are_notified_at_the_same_cost_whatever_its_size(
    requester, ana, make_person, query_count
):
    """Each post names colleagues; every one is told about their own post, and telling them
    costs the same statements for 3 posts as for 38 (people named are checked per person)."""
    make_person("ben.ito@example.test")
    ingest.do_post_many(requester, [NewPost(body="warm up @ana.lopez")])

    def batch(size: int) -> list[NewPost]:
        return [NewPost(body=f"post {n} for @ana.lopez and @ben.ito") for n in range(size)]

    with query_count() as three:
        ingest.do_post_many(requester, batch(3))
    with query_count() as many:
        ingest.do_post_many(requester, batch(38))
    assert len(many) == len(three), "\n".join(q["sql"][:150] for q in many.captured_queries)
    told = Notification.objects.filter(recipient=ana, kind="wall.mention")
    assert told.count() == 1 + 3 + 38
    assert told.filter(body="post 37 for @ana.lopez and @ben.ito").count() == 1
    assert Notification.objects.filter(kind="wall.mention").exclude(recipient=ana).count() == 41


# --- API ----------------------------------------------------------------------------------------


def test_api_batch_posts_all_and_answers_them_in_order(as_token, requester, vpn_service):  # noqa: F811
    root = actions.do_post(requester, body="root")
    api = as_token(requester)
    response = api.post(
        "/api/v1/wall/posts/batch",
        {"posts": [{"body": "#vpn one"}, {"body": "two", "reply_to": root.pk}]},
    )
    assert response.status_code == 201, response.content
    answer = json.loads(response.content)
    assert [post["body"] for post in answer["posts"]] == ["#vpn one", "two"]
    assert answer["posts"][0]["hashtags"] == ["vpn"]
    assert answer["posts"][0]["service"]["slug"] == vpn_service.slug
    assert answer["posts"][1]["reply_to"] == root.pk


def test_api_batch_errors_name_the_item_and_post_nothing(as_token, requester):  # noqa: F811
    api = as_token(requester)
    response = api.post(
        "/api/v1/wall/posts/batch",
        {"posts": [{"body": "fine"}, {"body": "fine"}, {"body": "x", "team": "nope"}]},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "posts[2].team"
    assert problem["errors"][0]["pointer"] == "/posts/2/team"
    response = api.post(
        "/api/v1/wall/posts/batch", {"posts": [{"body": "fine"}, {"body": "hi", "reply_to": 999}]}
    )
    assert assert_problem(response, 404)["errors"][0]["field"] == "posts[1].reply_to"
    assert not Post.objects.exists()


def test_api_batch_counts_once_against_its_own_limit(as_token, requester, settings):  # noqa: F811
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "wall_post": (1, 60),
        "wall_post_batch": (1, 60),
    }
    settings.RATE_LIMITS_ENABLED = True
    api = as_token(requester)
    three = {"posts": [{"body": "a"}, {"body": "b"}, {"body": "c"}]}
    assert api.post("/api/v1/wall/posts/batch", three).status_code == 201
    assert_problem(api.post("/api/v1/wall/posts/batch", three), 429)
    # The per-person bucket of people typing is untouched by the batch.
    assert api.post("/api/v1/wall/posts", {"body": "typed"}).status_code == 201
    assert Post.objects.count() == 4


def test_rate_limited_batches_raise_before_checking(requester, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post_batch": (1, 60)}
    settings.RATE_LIMITS_ENABLED = True
    ingest.do_post_many(requester, [NewPost(body="one")])
    with pytest.raises(RateLimited):
        ingest.do_post_many(requester, [NewPost(body="two")])
