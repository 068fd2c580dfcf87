"""A reply tells the author of the post it answers ("wall.reply"), once: not when replying to
oneself, not twice when the reply also mentions them, not when they may not read the reply,
and many replies in one batch cost the same statements as one."""

from __future__ import annotations

from hashdesk.core.models import Event
from hashdesk.notify.models import Notification
from hashdesk.wall import actions
from hashdesk.wall.choices import PostVisibility, WatchedWordAction
from hashdesk.wall.ingest import NewPost, do_post_many


def _told(person, kind="wall.reply"):
    return list(Notification.objects.filter(recipient=person, kind=kind))


def test_a_reply_tells_the_author_of_the_post(requester, ana, capture_events):
    post = actions.do_post(requester, body="Is the VPN slow for anyone else?")
    with capture_events() as events:
        reply = actions.do_post(ana, body="Yes, since nine.", reply_to=post)
    (notice,) = _told(requester)
    assert notice.title == "Ana Lopez replied to your post"
    assert notice.body == "Yes, since nine."
    assert notice.url == f"/wall/posts/{reply.pk}/"
    assert [e.payload["notification"]["kind"] for e in events if e.type == "notification"] == [
        "wall.reply"
    ]
    assert not _told(ana)


def test_replying_to_oneself_tells_nobody(requester):
    post = actions.do_post(requester, body="Printer on floor 3 jams.")
    actions.do_post(requester, body="Fixed it myself, ignore.", reply_to=post)
    assert not _told(requester)


def test_a_reply_that_mentions_the_author_tells_them_once(requester, ana):
    post = actions.do_post(requester, body="Who knows the new expense tool?")
    actions.do_post(ana, body="@requester see the guide on the intranet.", reply_to=post)
    notices = list(Notification.objects.filter(recipient=requester))
    assert [n.kind for n in notices] == ["wall.mention"]


def test_an_author_who_left_the_team_is_not_told_of_replies_they_cannot_read(
    requester, ana, finance_team, vpn_agent
):
    from hashdesk.accounts import actions as account_actions

    account_actions.do_add_team_member(None, finance_team, ana)
    post = actions.do_post(
        ana, body="Budget numbers are in.", visibility=PostVisibility.TEAM, team=finance_team
    )
    account_actions.do_remove_team_member(None, finance_team, ana)
    actions.do_post(requester, body="Thanks, looks right.", reply_to=post)
    assert not _told(ana)


def test_a_held_reply_tells_the_author_once_approved(requester, ana, vpn_agent):
    actions.do_add_watched_word(vpn_agent, "scam", WatchedWordAction.HOLD)
    post = actions.do_post(requester, body="Is this mail real?")
    reply = actions.do_post(ana, body="Looks like a scam to me", reply_to=post)
    assert not _told(requester)
    actions.do_approve_held_post(vpn_agent, reply)
    (notice,) = _told(requester)
    assert notice.url == f"/wall/posts/{reply.pk}/"


def test_a_batch_of_replies_tells_each_author_in_one_insert(
    requester, ana, other_requester, django_assert_max_num_queries
):
    first = actions.do_post(requester, body="Wi-Fi in the lobby?")
    second = actions.do_post(other_requester, body="Coffee machine broken.")
    with django_assert_max_num_queries(60) as one:
        do_post_many(ana, [NewPost(body="Works for me.", reply_to=first)])
    items = [NewPost(body=f"Reply {n}", reply_to=first if n % 2 else second) for n in range(10)]
    before = Event.objects.count()
    with django_assert_max_num_queries(len(one.captured_queries) + 1):
        do_post_many(ana, items)
    assert len(_told(requester)) == 1 + 5
    assert len(_told(other_requester)) == 5
    assert Event.objects.count() > before
