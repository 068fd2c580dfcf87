"""The lexical ranker that orders similarity candidates (hashdesk.insights.ranking)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hashdesk.insights.ranking import Doc, Ranker, rerank

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

CORPUS = [
    Doc(1, "VPN drops every hour", "The VPN client disconnects every hour from home."),
    Doc(2, "Printer on floor 3 jams", "The printer near the kitchen jams on tray two."),
    Doc(3, "Outlook crashes on startup", "Outlook 2.53.7 crashes right after the splash screen."),
    Doc(4, "Password reset link expired", "The reset mail arrives but the link has expired."),
    Doc(5, "Wifi slow in building B", "Wifi is slow in the afternoon in building B."),
    Doc(6, "Printer toner empty", "The colour printer on floor 2 says toner empty."),
]


@pytest.fixture
def ranker() -> Ranker:
    return Ranker.fit(CORPUS)


def test_an_obvious_duplicate_ranks_first(ranker):
    query = Doc(
        "q", "Outlook crashing at start", "Since 2.53.8 Outlook crashes after the splash screen"
    )
    ranked = rerank(ranker, query, CORPUS, limit=3)
    assert ranked[0][0].key == 3
    assert ranked[0][1] > 0


def test_shared_rare_words_beat_shared_common_words(ranker):
    query = Doc("q", "Printer jams", "paper jam on tray two")
    assert [doc.key for doc, _ in rerank(ranker, query, CORPUS, limit=2)] == [2, 6]


def test_rerank_limits_orders_and_leaves_out_unrelated(ranker):
    query = Doc("q", "printer", "printer")
    ranked = rerank(ranker, query, CORPUS, limit=10)
    assert {doc.key for doc, _ in ranked} == {2, 6}
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(rerank(ranker, query, CORPUS, limit=1)) == 1
    assert rerank(ranker, query, CORPUS, limit=0) == []
    assert rerank(ranker, query, [], limit=5) == []


def test_ties_keep_the_candidates_order(ranker):
    twin_a = Doc("a", "Wifi slow", "Wifi slow")
    twin_b = Doc("b", "Wifi slow", "Wifi slow")
    query = Doc("q", "wifi slow", "")
    assert [d.key for d, _ in rerank(ranker, query, [twin_b, twin_a], limit=2)] == ["b", "a"]
    assert [d.key for d, _ in rerank(ranker, query, [twin_a, twin_b], limit=2)] == ["a", "b"]


def test_score_is_symmetric_and_zero_without_shared_words(ranker):
    a, b = CORPUS[1], CORPUS[5]
    assert ranker.score(a, b) == pytest.approx(ranker.score(b, a))
    assert ranker.score(CORPUS[0], CORPUS[3]) == 0.0


def test_word_pairs_and_title_count(ranker):
    query = Doc("q", "tab strip overflow", "")
    together = Doc(1, "tab strip overflow", "")
    apart = Doc(2, "overflow", "strip of the tab")
    assert ranker.score(query, together) > ranker.score(query, apart)
    in_title = Doc(3, "toner", "printer")
    in_body = Doc(4, "printer", "toner")
    toner = Doc("t", "toner", "")
    assert ranker.score(toner, in_title) > ranker.score(toner, in_body)


def test_compound_parts_and_release_lines_match():
    docs = [Doc(1, "dict.leo.org renders blank", ""), Doc(2, "News page is blank", "")]
    ranker = Ranker.fit(docs)
    query = Doc("q", "Page content does not load on leo.org", "")
    assert rerank(ranker, query, docs, limit=1)[0][0].key == 1
    docs = [Doc(1, "Crash in 2.53.7.1", ""), Doc(2, "Crash in 3.0", "")]
    ranker = Ranker.fit(docs)
    assert rerank(ranker, Doc("q", "crash with 2.53.9", ""), docs, limit=1)[0][0].key == 1


def test_reports_close_in_time_rank_higher(ranker):
    query = Doc("q", "Printer jams", "", created_at=NOW)
    old = Doc("old", "Printer jams", "", created_at=NOW - timedelta(days=400))
    recent = Doc("recent", "Printer jams", "", created_at=NOW - timedelta(days=2))
    assert [d.key for d, _ in rerank(ranker, query, [old, recent], limit=2)] == ["recent", "old"]
    naive = Doc("naive", "Printer jams", "", created_at=datetime(2026, 11, 27))
    assert ranker.score(query, naive) > 0  # mixed naive/aware times: no prior, no error


def test_statistics_can_come_from_an_index(ranker):
    frequencies = {"printer": 2, "jam": 1, "toner": 1}
    calls = []

    def df(term: str) -> int:
        calls.append(term)
        return frequencies.get(term, 0)

    from_index = Ranker(doc_count=len(CORPUS), df=df, avg_len=ranker.avg_len)
    query = Doc("q", "Printer jams", "")
    assert [d.key for d, _ in rerank(from_index, query, CORPUS, limit=2)] == [2, 6]
    assert all(isinstance(term, str) and " " not in term for term in calls)
    calls.clear()
    rerank(from_index, query, CORPUS, limit=2)
    assert calls == []  # document frequencies are asked once per word


def test_fit_on_nothing_still_ranks():
    ranker = Ranker.fit([])
    assert ranker.doc_count == 1
    assert rerank(ranker, Doc("q", "vpn", ""), [Doc(1, "vpn down", "")], limit=1)[0][0].key == 1
