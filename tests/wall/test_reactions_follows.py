"""Reactions (with "me too" on incident posts) and follows."""

from __future__ import annotations

import pytest

from hashdesk.core.errors import Conflict, NotFound, ValidationFailed
from hashdesk.incidents.models import AffectedUser, IncidentFollower
from hashdesk.wall import actions
from hashdesk.wall.choices import FollowKind, ReactionKind
from hashdesk.wall.models import Follow, Hashtag, Post


def test_reactions_count_and_send_the_new_counts(requester, other_requester, capture_events):
    post = actions.do_post(requester, body="printer jammed")
    with capture_events() as events:
        actions.do_react(other_requester, post, ReactionKind.LIKE)
    actions.do_react(requester, post, ReactionKind.LIKE)
    actions.do_react(other_requester, post, ReactionKind.THANKS)
    post.refresh_from_db()
    assert (post.like_count, post.thanks_count, post.me_too_count) == (2, 1, 0)
    [event] = events
    assert event.op == "reaction"
    assert event.payload["post"]["counts"] == {
        "replies": 0,
        "like": 1,
        "me_too": 0,
        "thanks": 0,
        "solved": 0,
    }
    with pytest.raises(Conflict):
        actions.do_react(other_requester, post, ReactionKind.LIKE)
    actions.do_unreact(other_requester, post, ReactionKind.LIKE)
    post.refresh_from_db()
    assert post.like_count == 1
    with pytest.raises(NotFound):
        actions.do_unreact(other_requester, post, ReactionKind.LIKE)
    with pytest.raises(ValidationFailed):
        actions.do_react(other_requester, post, "angry")


def test_me_too_on_an_incident_post_makes_the_person_affected_and_a_follower(
    requester, other_requester, vpn_agent, vpn_service
):
    post = actions.do_post(requester, body="#vpn keeps dropping")
    incident = actions.do_promote_to_incident(
        vpn_agent, [post], title="VPN drops", service=vpn_service
    )
    actions.do_react(other_requester, Post.objects.get(pk=post.pk), ReactionKind.ME_TOO)
    assert AffectedUser.objects.filter(incident=incident, user=other_requester).exists()
    assert IncidentFollower.objects.filter(incident=incident, user=other_requester).exists()
    assert Post.objects.get(pk=post.pk).me_too_count == 1


def test_me_too_on_a_plain_post_only_counts(requester, other_requester):
    post = actions.do_post(requester, body="slow laptop")
    actions.do_react(other_requester, post, ReactionKind.ME_TOO)
    assert not AffectedUser.objects.filter(user=other_requester).exists()


def test_following_services_hashtags_people_and_threads(
    requester, other_requester, vpn_service, security_service
):
    root = actions.do_post(other_requester, body="#printers down")
    reply = actions.do_post(other_requester, body="still", reply_to=root)
    tag = Hashtag.objects.get(name="printers")
    actions.do_follow(requester, FollowKind.SERVICE, vpn_service)
    actions.do_follow(requester, FollowKind.HASHTAG, tag)
    actions.do_follow(requester, FollowKind.PERSON, other_requester)
    follow = actions.do_follow(requester, FollowKind.THREAD, reply)
    assert follow.target_id == root.pk
    assert Follow.objects.filter(user=requester).count() == 4
    with pytest.raises(Conflict):
        actions.do_follow(requester, FollowKind.THREAD, root)
    with pytest.raises(NotFound):
        actions.do_follow(requester, FollowKind.SERVICE, security_service)
    with pytest.raises(ValidationFailed):
        actions.do_follow(requester, FollowKind.PERSON, requester)
    with pytest.raises(ValidationFailed):
        actions.do_follow(requester, FollowKind.SERVICE, tag)
    actions.do_unfollow(requester, FollowKind.HASHTAG, tag)
    with pytest.raises(NotFound):
        actions.do_unfollow(requester, FollowKind.HASHTAG, tag)
    assert Follow.objects.filter(user=requester).count() == 3
