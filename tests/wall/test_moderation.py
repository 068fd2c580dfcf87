"""Reports, the moderator's decisions, held posts and watched words."""

from __future__ import annotations

import pytest

from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.visibility import can_view
from hashdesk.notify.models import Notification
from hashdesk.wall import actions, timelines
from hashdesk.wall.choices import ModerationState, ReportState, WatchedWordAction
from hashdesk.wall.models import PostReport, WatchedWord


def test_reporting_reaches_the_staff_stream_only(requester, other_requester, capture_events):
    post = actions.do_post(requester, body="spam spam")
    with capture_events() as events:
        report = actions.do_report_post(other_requester, post, "Spam")
    assert report.state == ReportState.OPEN
    [event] = events
    assert (event.op, event.streams) == ("report", [streams.STAFF])
    with pytest.raises(Conflict):
        actions.do_report_post(other_requester, post, "Again")
    with pytest.raises(ValidationFailed):
        actions.do_report_post(requester, post, "  ")


def test_hide_and_unhide_with_a_reason(requester, other_requester, vpn_agent, capture_events):
    post = actions.do_post(requester, body="rude words")
    report = actions.do_report_post(other_requester, post, "Rude")
    with pytest.raises(Forbidden):
        actions.do_hide_post(other_requester, post, "I do not like it")
    with pytest.raises(ValidationFailed):
        actions.do_hide_post(vpn_agent, post, "")
    with capture_events() as events:
        actions.do_hide_post(vpn_agent, post, "Not kind")
    post.refresh_from_db()
    assert (post.moderation, post.moderation_reason) == (ModerationState.HIDDEN, "Not kind")
    assert events[0].op == "delete" and set(events[0].payload["post"]) == {
        "id",
        "thread_root_id",
    }
    report.refresh_from_db()
    assert (report.state, report.resolved_by) == (ReportState.HIDDEN, vpn_agent)
    assert not can_view(other_requester, post) and not can_view(requester, post)
    with capture_events() as events:
        actions.do_unhide_post(vpn_agent, post)
    assert events[0].op == "create"
    assert can_view(other_requester, post)
    with pytest.raises(Conflict):
        actions.do_unhide_post(vpn_agent, post)


def test_resolving_reports(requester, other_requester, ana, vpn_agent):
    post = actions.do_post(requester, body="meh")
    first = actions.do_report_post(other_requester, post, "Off topic")
    second = actions.do_report_post(ana, post, "Rude")
    actions.do_resolve_report(vpn_agent, first, hide=False)
    first.refresh_from_db()
    assert first.state == ReportState.DISMISSED
    assert can_view(other_requester, post)
    actions.do_resolve_report(vpn_agent, second, hide=True, reason="Rude")
    second.refresh_from_db()
    post.refresh_from_db()
    assert second.state == ReportState.HIDDEN and post.moderation == ModerationState.HIDDEN
    with pytest.raises(Conflict):
        actions.do_resolve_report(vpn_agent, first, hide=False)
    assert PostReport.objects.filter(state=ReportState.OPEN).count() == 0


def test_approving_a_held_post_publishes_it_and_notifies_mentions(
    requester, other_requester, ana, vpn_agent, capture_events
):
    actions.do_add_watched_word(vpn_agent, "union", WatchedWordAction.HOLD)
    post = actions.do_post(requester, body="@ana.lopez the union meets today")
    assert not Notification.objects.filter(recipient=ana).exists()
    assert list(timelines.moderation_queue(vpn_agent)) == [post]
    assert list(timelines.moderation_queue(requester)) == []
    with capture_events() as events:
        actions.do_approve_held_post(vpn_agent, post)
    assert [e.op for e in events if e.type == "wall_post"] == ["create"]
    assert can_view(other_requester, post)
    assert Notification.objects.filter(recipient=ana, kind="wall.mention").exists()
    with pytest.raises(Conflict):
        actions.do_approve_held_post(vpn_agent, post)


def test_watched_words_are_managed_by_moderators(requester, vpn_agent):
    with pytest.raises(Forbidden):
        actions.do_add_watched_word(requester, "x", WatchedWordAction.BLOCK)
    word = actions.do_add_watched_word(vpn_agent, "  Bad   Word ", WatchedWordAction.BLOCK)
    assert word.word == "bad word"
    with pytest.raises(Conflict):
        actions.do_add_watched_word(vpn_agent, "BAD WORD", WatchedWordAction.HOLD)
    with pytest.raises(ValidationFailed):
        actions.do_add_watched_word(vpn_agent, "other", "shout")
    with pytest.raises(ValidationFailed):
        actions.do_post(requester, body="what a BAD\n word")  # spacing does not matter
    actions.do_remove_watched_word(vpn_agent, word)
    assert not WatchedWord.objects.exists()
