"""Full-text search over the messages one may see (docs/chat.md, "Search"). Runs on SQLite
(FTS5) and on PostgreSQL (tsvector), with the same answers."""

from __future__ import annotations

import pytest

from hashdesk.chat import actions, messages, search
from hashdesk.core.errors import NotFound, ValidationFailed


@pytest.fixture
def talk(requester, vpn_agent, vpn_room, confidential_room):
    """A few messages: in the VPN room, and in the confidential service's room (staff)."""
    actions.do_join_room(requester, vpn_room)
    actions.do_join_room(vpn_agent, vpn_room)
    actions.do_join_room(vpn_agent, confidential_room)

    def say(person, room, body):
        return actions.do_send_message(person, room, body=body).message

    return {
        "old": say(requester, vpn_room, "The VPN tunnel drops at noon"),
        "twice": say(vpn_agent, vpn_room, "Tunnel tunnel: restart the VPN client"),
        "new": say(requester, vpn_room, "The VPN tunnel holds at last"),
        "other": say(requester, vpn_room, "Printer on floor 3 jams"),
        "secret": say(vpn_agent, confidential_room, "VPN tunnel keys rotated tonight"),
    }


def ids(hits):
    return [hit.message.pk for hit in hits]


def test_finds_every_word_ranked_then_newest_first(requester, talk):
    hits = search.search_messages(requester, "vpn TUNNEL")
    assert set(ids(hits)) == {talk["old"].pk, talk["twice"].pk, talk["new"].pk}
    # The message saying "tunnel" twice ranks first; the other two tie, the newer first.
    assert ids(hits) == [talk["twice"].pk, talk["new"].pk, talk["old"].pk]
    assert ids(search.search_messages(requester, "printer")) == [talk["other"].pk]
    assert search.search_messages(requester, "printer vpn") == []


def test_only_what_one_may_see_and_never_deleted(requester, other_requester, vpn_agent, talk):
    assert talk["secret"].pk not in ids(search.search_messages(requester, "tunnel"))
    assert talk["secret"].pk in ids(search.search_messages(vpn_agent, "tunnel"))
    # Anyone who sees the service room reads it, member or not.
    assert talk["old"].pk in ids(search.search_messages(other_requester, "noon"))
    messages.do_delete_message(requester, talk["old"])
    assert search.search_messages(requester, "noon") == []
    assert search.search_messages(vpn_agent, "noon") == []  # staff neither


def test_an_edit_is_found_by_its_new_words_only(requester, talk):
    messages.do_edit_message(requester, talk["other"], body="Scanner on floor 3 jams")
    assert search.search_messages(requester, "printer") == []
    assert ids(search.search_messages(requester, "scanner")) == [talk["other"].pk]


def test_in_one_room(requester, vpn_agent, talk, vpn_room, confidential_room):
    assert ids(search.search_messages(vpn_agent, "keys", room=confidential_room)) == [
        talk["secret"].pk
    ]
    assert search.search_messages(vpn_agent, "keys", room=vpn_room) == []
    with pytest.raises(NotFound):
        search.search_messages(requester, "keys", room=confidential_room)


def test_snippets_are_escaped_and_marked(requester, vpn_room):
    actions.do_join_room(requester, vpn_room)
    actions.do_send_message(requester, vpn_room, body="<script>alert(1)</script> the VPN drops")
    [hit] = search.search_messages(requester, "vpn")
    assert "<script>" not in hit.snippet
    assert hit.snippet == "&lt;script&gt;alert(1)&lt;/script&gt; the <mark>VPN</mark> drops"
    long = "word " * 60 + "needle " + "word " * 60
    assert search.snippet(long, ["needle"]).startswith("…")
    assert "<mark>needle</mark>" in search.snippet(long, ["needle"])
    assert search.snippet(long, ["needle"]).endswith("…")


def test_query_syntax_is_only_words(requester, talk):
    # FTS5 operators and quotes are words or nothing, never syntax (no error, no injection).
    assert ids(search.search_messages(requester, 'tunnel" OR "printer')) == []
    assert ids(search.search_messages(requester, "printer* -floor^")) == [talk["other"].pk]
    assert ids(search.search_messages(requester, "NEAR(printer floor)")) == []  # no "near"
    for bad in ("", "  ", "***", "x" * 201):
        with pytest.raises(ValidationFailed):
            search.search_messages(requester, bad)


def test_constant_queries_whatever_the_hits(requester, vpn_room, query_count):
    actions.do_join_room(requester, vpn_room)

    def statements(n):
        for i in range(n):
            actions.do_send_message(requester, vpn_room, body=f"outage report {i}")
        with query_count() as ctx:
            hits = search.search_messages(requester, "outage")
        return len(ctx), len(hits)

    few, found_few = statements(3)
    many, found_many = statements(27)
    assert (found_few, found_many) == (3, 30) and few == many
