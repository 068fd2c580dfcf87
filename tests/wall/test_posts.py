"""Posting on the wall: redaction, watched words, hashtags, mentions, replies, edits, deletes,
rate limits and the events each sends."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.audit.models import AuditEntry
from hashdesk.core import streams
from hashdesk.core.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from hashdesk.core.models import Event
from hashdesk.core.visibility import can_view
from hashdesk.notify.models import Notification
from hashdesk.wall import actions
from hashdesk.wall.choices import ModerationState, PostVisibility, WatchedWordAction
from hashdesk.wall.models import Hashtag, Post, PostRevision

SECRET = "Hunter2Secret!"


def test_a_post_is_stored_rendered_audited_and_sent_to_members(requester, capture_events):
    with capture_events() as events:
        post = actions.do_post(requester, body="The **printer** on floor 3 is jammed")
    post.refresh_from_db()
    assert post.body == "The **printer** on floor 3 is jammed"
    assert "<strong>printer</strong>" in post.body_html
    assert post.moderation == ModerationState.VISIBLE
    assert AuditEntry.objects.filter(action="wall.post", object_id=str(post.pk)).exists()
    [event] = events
    assert (event.type, event.op) == ("wall_post", "create")
    assert event.streams == [streams.MEMBERS, streams.STAFF]
    assert event.payload["post"]["id"] == post.pk
    assert event.payload["post"]["author"] == {"id": requester.pk, "name": "Requester"}


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 2001])
def test_empty_or_overlong_posts_are_refused_and_change_nothing(requester, body):
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body=body)
    assert caught.value.field == "body"
    assert not Post.objects.exists()


def test_anonymous_people_cannot_post(db):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        actions.do_post(AnonymousUser(), body="hello")


def test_secrets_are_redacted_before_storage_events_and_audit(requester, capture_events):
    with capture_events() as events:
        post = actions.do_post(requester, body=f"VPN fails, my password: {SECRET} #vpn")
    assert post.redactions == [{"kind": "password", "count": 1, "label": "a password"}]
    stored = Post.objects.get(pk=post.pk)
    assert SECRET not in stored.body and SECRET not in stored.body_html
    assert "[redacted password]" in stored.body
    assert all(SECRET not in str(event.payload) for event in events)
    assert not AuditEntry.objects.filter(after__icontains=SECRET).exists()
    assert not Event.objects.filter(payload__icontains=SECRET).exists()


def test_blocked_watched_word_refuses_without_naming_it(requester, vpn_agent):
    actions.do_add_watched_word(vpn_agent, "Frobnicate", WatchedWordAction.BLOCK)
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body="Please FROBNICATE the server")
    assert "frobnicate" not in caught.value.detail.lower()
    assert "not allowed" in caught.value.detail
    # A word inside another word is not the word.
    actions.do_post(requester, body="Refrobnicated nothing")


def test_held_watched_word_holds_the_post_and_tells_moderators(
    requester, other_requester, vpn_agent, capture_events
):
    actions.do_add_watched_word(vpn_agent, "lawsuit", WatchedWordAction.HOLD)
    with capture_events() as events:
        post = actions.do_post(requester, body="There will be a Lawsuit about this")
    assert post.moderation == ModerationState.HELD
    assert Notification.objects.filter(recipient=vpn_agent, kind="wall.held").exists()
    post_events = [event for event in events if event.type == "wall_post"]
    assert [event.op for event in post_events] == ["held"]
    assert post_events[0].streams == sorted([streams.STAFF, streams.user(requester.pk)])
    assert can_view(requester, post)
    assert not can_view(other_requester, post)


def test_hashtags_are_created_lowercase_and_bind_the_first_service(requester, vpn_service):
    post = actions.do_post(requester, body="#Printers and #VPN and #vpn again, #sso-down")
    assert sorted(post.hashtags.values_list("name", flat=True)) == ["printers", "sso-down", "vpn"]
    assert post.service == vpn_service
    assert Hashtag.objects.get(name="vpn").service == vpn_service
    assert Hashtag.objects.get(name="printers").service is None
    assert 'href="/wall/tags/vpn/"' in post.body_html


def test_a_confidential_service_tag_does_not_bind_a_requester_post(
    requester, security_service, vpn_service
):
    post = actions.do_post(requester, body="#secops then #vpn")
    assert post.service == vpn_service
    assert can_view(requester, post)


def test_mentions_notify_known_people_and_unknown_handles_stay_text(requester, ana, capture_events):
    post = actions.do_post(requester, body="@Ana.Lopez and @nobody.here, see this")
    assert list(post.mentions.all()) == [ana]
    assert 'class="mention"' in post.body_html and "@nobody.here" in post.body_html
    assert post.body_html.count("<a ") == 1
    notice = Notification.objects.get(recipient=ana)
    assert notice.kind == "wall.mention" and notice.url == f"/wall/posts/{post.pk}/"
    assert not Notification.objects.filter(recipient=requester).exists()


def test_mentioned_people_who_cannot_see_a_team_post_are_not_notified(requester, ana, finance_team):
    post = actions.do_post(
        requester, body="@ana.lopez budget", visibility=PostVisibility.TEAM, team=finance_team
    )
    assert list(post.mentions.all()) == [ana]
    assert not Notification.objects.filter(recipient=ana).exists()


def test_an_email_address_is_neither_a_mention_nor_a_tag(requester, ana):
    post = actions.do_post(requester, body="mail ana.lopez@example.test about issue#12")
    assert not post.mentions.exists() and not post.hashtags.exists()


def test_replies_build_threads_and_count(requester, other_requester, vpn_service):
    root = actions.do_post(requester, body="#vpn is down")
    first = actions.do_post(other_requester, body="same here", reply_to=root)
    second = actions.do_post(requester, body="still", reply_to=first)
    assert (first.thread_root_id, second.thread_root_id) == (root.pk, root.pk)
    assert second.reply_to_id == first.pk
    # Replies take the thread's service when they name none.
    assert first.service == vpn_service
    root.refresh_from_db()
    first.refresh_from_db()
    assert (root.reply_count, first.reply_count) == (1, 1)


def test_a_reply_to_a_post_one_cannot_see_is_not_found(requester, other_requester, finance_team):
    team_post = actions.do_post(
        requester, body="internal", visibility=PostVisibility.TEAM, team=finance_team
    )
    with pytest.raises(NotFound):
        actions.do_post(other_requester, body="hi", reply_to=team_post)
    reply = actions.do_post(requester, body="member reply", reply_to=team_post)
    assert (reply.visibility, reply.team) == (PostVisibility.TEAM, finance_team)


def test_team_posts_need_a_team_one_belongs_to(requester, other_requester, finance_team):
    with pytest.raises(ValidationFailed):
        actions.do_post(requester, body="x", visibility=PostVisibility.TEAM)
    with pytest.raises(Forbidden):
        actions.do_post(
            other_requester, body="x", visibility=PostVisibility.TEAM, team=finance_team
        )


def test_team_post_events_go_to_the_team_and_staff(requester, finance_team, capture_events):
    with capture_events() as events:
        actions.do_post(
            requester, body="internal", visibility=PostVisibility.TEAM, team=finance_team
        )
    assert events[0].streams == sorted([streams.team(finance_team.pk), streams.STAFF])


def test_edits_keep_the_previous_text_and_reparse(
    requester, other_requester, vpn_service, ana, capture_events
):
    post = actions.do_post(requester, body="printer broken")
    with capture_events() as events:
        edited = actions.do_edit_post(
            requester, post, body=f"#vpn broken @ana.lopez password: {SECRET}"
        )
    assert edited.edited_at is not None
    assert edited.service == vpn_service
    assert SECRET not in Post.objects.get(pk=post.pk).body
    assert list(PostRevision.objects.filter(post=post).values_list("body", flat=True)) == [
        "printer broken"
    ]
    assert [e.op for e in events if e.type == "wall_post"] == ["update"]
    assert Notification.objects.filter(recipient=ana).count() == 1
    with pytest.raises(Forbidden):
        actions.do_edit_post(other_requester, post, body="mine now")


def test_soft_delete_hides_the_post_and_sends_only_its_id(
    requester, other_requester, vpn_agent, capture_events
):
    root = actions.do_post(requester, body="root")
    reply = actions.do_post(requester, body="oops", reply_to=root)
    with pytest.raises(Forbidden):
        actions.do_delete_post(other_requester, reply)
    with capture_events() as events:
        actions.do_delete_post(requester, reply, reason="typo")
    reply.refresh_from_db()
    root.refresh_from_db()
    assert reply.deleted_at is not None and root.reply_count == 0
    assert not can_view(other_requester, reply)
    assert can_view(vpn_agent, reply)
    [event] = events
    assert event.op == "delete" and event.payload["post"] == {
        "id": reply.pk,
        "thread_root_id": root.pk,
    }
    assert AuditEntry.objects.filter(action="wall.delete").exists()
    with pytest.raises(NotFound):
        actions.do_delete_post(requester, reply)


def test_posting_is_rate_limited_per_person(requester, other_requester, settings: Any):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post": (3, 60)}
    settings.RATE_LIMITS_ENABLED = True
    for n in range(3):
        actions.do_post(requester, body=f"post {n}")
    with pytest.raises(RateLimited) as caught:
        actions.do_post(requester, body="one too many")
    assert caught.value.status == 429 and caught.value.retry_after >= 1
    assert Post.objects.count() == 3
    actions.do_post(other_requester, body="someone else may still post")


def test_posting_is_rate_limited_per_address(requester, other_requester, settings: Any):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post_ip": (2, 60)}
    settings.RATE_LIMITS_ENABLED = True
    actions.do_post(requester, body="a", ip="192.0.2.1")
    actions.do_post(other_requester, body="b", ip="192.0.2.1")
    with pytest.raises(RateLimited):
        actions.do_post(requester, body="c", ip="192.0.2.1")
    actions.do_post(requester, body="d", ip="192.0.2.2")


def test_hashtag_rows_follow_a_service_that_changes_its_hashtag(requester, vpn_service):
    from hashdesk.catalog.models import Service

    actions.do_post(requester, body="#vpn down")
    Service.objects.filter(pk=vpn_service.pk).update(hashtag="remote-access")
    post = actions.do_post(requester, body="#vpn and #remote-access")
    assert Hashtag.objects.get(name="vpn").service is None
    assert Hashtag.objects.get(name="remote-access").service_id == vpn_service.pk
    assert post.service_id == vpn_service.pk


def test_replies_to_a_held_post_are_refused(requester, vpn_agent):
    actions.do_add_watched_word(vpn_agent, "strike", WatchedWordAction.HOLD)
    held = actions.do_post(requester, body="strike now")
    with pytest.raises(ValidationFailed):
        actions.do_post(requester, body="and more", reply_to=held)
