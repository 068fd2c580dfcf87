"""The clustering algorithm on its own (insights/clustering.py): no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hashdesk.insights.clustering import Report, Settings, find_clusters

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)

OUTLOOK = [
    "Outlook crashes when I open a calendar attachment",
    "Outlook closes when opening attachment in calendar invite",
    "Outlook crash on calendar invitation attachments",
    "Calendar attachment crashes Outlook",
    "Outlook crashing on calendar attachments again",
    "Opening calendar attachment crashes Outlook",
]
NOISE = [
    "Mailbox full, cannot send e-mail",
    "Printer on the third floor jams",
    "Password reset link expired",
    "Shared mailbox missing after update",
    "New starter needs a laptop",
    "Teams meeting audio echoes",
]


def _report(
    i: int, text: str, *, service: int = 1, person: int | None = None, **kw: object
) -> Report:
    return Report(
        kind=str(kw.pop("kind", "incident")),
        id=i,
        service_id=service,
        configuration_item_id=kw.pop("ci", None),  # type: ignore[arg-type]
        person_id=i if person is None else person,
        created_at=NOW - timedelta(days=i % 40),
        text=text,
        confidential=bool(kw.pop("confidential", False)),
    )


def test_similar_reports_on_one_service_form_one_cluster_and_noise_stays_out() -> None:
    reports = [_report(i, t) for i, t in enumerate(OUTLOOK)]
    reports += [_report(100 + i, t) for i, t in enumerate(NOISE)]

    (cluster,) = find_clusters(reports)

    assert sorted(r.id for r in cluster.members) == list(range(len(OUTLOOK)))
    assert {"outlook", "calendar", "attachment"} <= set(cluster.top_terms)
    assert len(cluster.representatives) == 3
    assert cluster.cohesion > 0.45


def test_the_same_words_on_another_service_are_another_pattern() -> None:
    reports = [_report(i, t, service=1) for i, t in enumerate(OUTLOOK[:3])]
    reports += [_report(10 + i, t, service=2) for i, t in enumerate(OUTLOOK[3:])]

    assert find_clusters(reports, Settings(min_size=3)) != []
    assert find_clusters(reports, Settings(min_size=4)) == []


def test_a_pattern_needs_enough_reports_and_enough_people() -> None:
    same_person = [_report(i, t, person=7) for i, t in enumerate(OUTLOOK)]
    two_people = [_report(i, t, person=i % 2) for i, t in enumerate(OUTLOOK)]

    assert find_clusters(same_person) == []
    assert find_clusters(two_people) == []
    assert find_clusters([_report(i, t) for i, t in enumerate(OUTLOOK[:4])]) == []


def test_confidential_reports_count_but_never_name_the_pattern() -> None:
    reports = [_report(i, t + " zebracode", confidential=True) for i, t in enumerate(OUTLOOK)]
    reports += [_report(50 + i, t) for i, t in enumerate(OUTLOOK[:2])]

    (cluster,) = find_clusters(reports)

    assert len(cluster.members) == 8
    assert "zebracode" not in cluster.top_terms
    assert cluster.top_terms


def test_all_confidential_gives_no_terms() -> None:
    reports = [_report(i, t, confidential=True) for i, t in enumerate(OUTLOOK)]

    (cluster,) = find_clusters(reports)

    assert cluster.top_terms == []


def test_a_chain_of_loosely_related_reports_is_split_not_one_giant() -> None:
    vpn = [
        "VPN drops every five minutes",
        "VPN connection drops every few minutes",
        "VPN drops every 5 minutes at home",
        "VPN keeps dropping every five minutes",
        "VPN drops every couple of minutes",
    ]
    reports = [_report(i, t) for i, t in enumerate(OUTLOOK)]
    reports += [_report(20 + i, t) for i, t in enumerate(vpn)]

    clusters = find_clusters(reports)

    assert len(clusters) == 2
    assert {len(c.members) for c in clusters} == {6, 5}


def test_chat_and_posts_join_incidents_and_texts_too_short_are_ignored() -> None:
    reports = [_report(i, t) for i, t in enumerate(OUTLOOK[:4])]
    reports.append(_report(30, "Outlook crashes on calendar attachments #email", kind="post"))
    reports.append(_report(31, "outlook calendar attachment crash again", kind="chat"))
    reports.append(_report(32, "ok", kind="chat"))

    (cluster,) = find_clusters(reports)

    assert {r.kind for r in cluster.members} == {"incident", "post", "chat"}
    assert 32 not in {r.id for r in cluster.members}


def test_results_are_deterministic() -> None:
    reports = [_report(i, t) for i, t in enumerate(OUTLOOK + NOISE)]

    first = find_clusters(reports)
    second = find_clusters(list(reversed(reports)))

    assert [sorted(r.id for r in c.members) for c in first] == [
        sorted(r.id for r in c.members) for c in second
    ]
    assert first[0].top_terms[:3] == second[0].top_terms[:3]
