"""The wall's REST API: posts, timelines, reactions, follows, trending, "is it just me?",
reports, moderation and promotion — each through the same actions the pages use."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from hashdesk.accounts import actions as account_actions
from hashdesk.core.redaction import KINDS
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import AffectedUser, Incident
from hashdesk.wall import actions
from hashdesk.wall.choices import FollowKind, ModerationState, PostVisibility, ReportState
from hashdesk.wall.models import Follow, Post, PostReport, Reaction, WatchedWord
from hashdesk.wall.schemas import RedactionKindName
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db

SECRET = "Hunter2Secret!"


@pytest.fixture(autouse=True)
def _roomy_post_limits(settings: Any) -> None:
    """Tests post many times a second; the rate-limit test sets its own small limit."""
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "wall_post": (1000, 60),
        "wall_post_ip": (1000, 60),
    }


def body(response):
    return json.loads(response.content)


@pytest.fixture
def requester_api(as_token, requester):
    return as_token(requester)


@pytest.fixture
def other_api(as_token, other_requester):
    return as_token(other_requester)


@pytest.fixture
def agent_api(as_token, vpn_agent):
    return as_token(vpn_agent)


@pytest.fixture
def finance_team(requester):
    team = account_actions.do_create_team(None, name="Finance")
    account_actions.do_add_team_member(None, team, requester)
    return team


def team_post(requester, finance_team, text="team only"):
    return actions.do_post(requester, body=text, visibility=PostVisibility.TEAM, team=finance_team)


def test_redaction_kinds_match_what_redaction_removes():
    # The vocabulary test covers TextChoices; redaction keeps its kinds in a plain dict.
    assert set(get_args(RedactionKindName)) == set(KINDS)


# --- Posts ---------------------------------------------------------------------------------------


def test_post_redacts_the_secret_and_tells_the_author(requester_api, vpn_service, capture_events):
    with capture_events() as events:
        response = requester_api.post(
            "/api/v1/wall/posts", {"body": f"VPN fails, my password: {SECRET} #vpn"}
        )
    assert response.status_code == 201, response.content
    assert SECRET not in response.content.decode()
    post = body(response)
    assert post["redactions"] == [{"kind": "password", "count": 1, "label": "a password"}]
    assert "[redacted password]" in post["body"]
    assert post["hashtags"] == ["vpn"]
    assert post["service"]["slug"] == "vpn"
    assert post["moderation"] == "visible"
    assert post["kind"] == "post" and post["visibility"] == "public"
    assert SECRET not in Post.objects.get(pk=post["id"]).body
    assert [(e.type, e.op) for e in events] == [("wall_post", "create")]


def test_reply_takes_its_thread_and_a_reply_to_an_unseen_post_is_404(
    requester, requester_api, other_api, finance_team
):
    root = actions.do_post(requester, body="printer jammed")
    response = other_api.post("/api/v1/wall/posts", {"body": "me too", "reply_to": root.pk})
    assert response.status_code == 201
    assert body(response)["reply_to"] == root.pk
    assert body(response)["thread_root"] == root.pk
    hidden = team_post(requester, finance_team)
    response = other_api.post("/api/v1/wall/posts", {"body": "hi", "reply_to": hidden.pk})
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    "payload",
    [
        {"body": ""},
        {"body": "   "},
        {"body": "x" * 2001},
        {"body": "fine", "visibility": "everyone"},
        {"body": "fine", "visibility": "team"},
        {"body": "fine", "colour": "red"},
    ],
)
def test_bad_posts_are_422_and_change_nothing(requester_api, payload, nothing_changes):
    with nothing_changes():
        assert_problem(requester_api.post("/api/v1/wall/posts", payload), 422, "invalid")
    assert not Post.objects.exists()


def test_a_blocked_word_is_422_without_naming_it(requester_api, vpn_agent):
    actions.do_add_watched_word(vpn_agent, "frobnicate", "block")
    problem = assert_problem(
        requester_api.post("/api/v1/wall/posts", {"body": "please FROBNICATE this"}), 422
    )
    assert "frobnicate" not in problem["detail"].lower()
    assert not Post.objects.exists()


def test_a_held_post_says_so(requester_api, vpn_agent):
    WatchedWord.objects.create(word="lawsuit", action="hold", created_by=vpn_agent)
    response = requester_api.post("/api/v1/wall/posts", {"body": "a lawsuit coming"})
    assert response.status_code == 201
    assert body(response)["moderation"] == "held"


def test_team_posts_need_a_team_of_your_own(requester_api, other_api, finance_team):
    response = requester_api.post(
        "/api/v1/wall/posts", {"body": "budget", "visibility": "team", "team": "finance"}
    )
    assert response.status_code == 201, response.content
    assert body(response)["team"]["slug"] == "finance"
    response = other_api.post(
        "/api/v1/wall/posts", {"body": "budget", "visibility": "team", "team": "finance"}
    )
    assert_problem(response, 403, "forbidden")


def test_posting_over_the_rate_limit_is_429_with_retry_after(requester_api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post": (2, 60)}
    for n in range(2):
        assert requester_api.post("/api/v1/wall/posts", {"body": f"post {n}"}).status_code == 201
    response = requester_api.post("/api/v1/wall/posts", {"body": "one more"})
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Post.objects.count() == 2


def test_get_a_post_and_404_for_one_you_may_not_see(
    requester, requester_api, other_api, finance_team
):
    post = actions.do_post(requester, body="hello @colleague")
    response = other_api.get(f"/api/v1/wall/posts/{post.pk}")
    assert response.status_code == 200
    answer = body(response)
    assert answer["id"] == post.pk and answer["author"]["id"] == requester.pk
    assert [person["display_name"] for person in answer["mentions"]] == ["Colleague"]
    hidden = team_post(requester, finance_team)
    assert_problem(other_api.get(f"/api/v1/wall/posts/{hidden.pk}"), 404, "not_found")
    assert_problem(other_api.get("/api/v1/wall/posts/999999"), 404, "not_found")


def test_edit_redacts_and_keeps_a_revision(requester, requester_api, other_api):
    post = actions.do_post(requester, body="VPN is slow")
    response = requester_api.patch(
        f"/api/v1/wall/posts/{post.pk}", {"body": f"VPN is slow, password: {SECRET}"}
    )
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    assert body(response)["redactions"][0]["kind"] == "password"
    assert body(response)["edited_at"] is not None
    assert post.revisions.get().body == "VPN is slow"
    # Someone else may read it but not edit it.
    response = other_api.patch(f"/api/v1/wall/posts/{post.pk}", {"body": "mine now"})
    assert_problem(response, 403, "forbidden")


def test_delete_a_post(requester, requester_api, other_api, capture_events):
    post = actions.do_post(requester, body="oops")
    assert_problem(other_api.delete(f"/api/v1/wall/posts/{post.pk}"), 403, "forbidden")
    with capture_events() as events:
        assert requester_api.delete(f"/api/v1/wall/posts/{post.pk}").status_code == 204
    assert [e.op for e in events] == ["delete"]
    assert_problem(requester_api.get(f"/api/v1/wall/posts/{post.pk}"), 404)


def test_read_tokens_cannot_post(as_token, requester):
    response = as_token(requester, "read").post("/api/v1/wall/posts", {"body": "hi"})
    assert_problem(response, 403)


def test_a_browser_session_posts_with_the_csrf_token_only(as_session, requester):
    assert as_session(requester).post("/api/v1/wall/posts", {"body": "hi"}).status_code == 201
    response = as_session(requester, csrf=False).post("/api/v1/wall/posts", {"body": "hi"})
    assert_problem(response, 403, "csrf_failed")
    assert Post.objects.count() == 1


def test_anonymous_is_401(anonymous):
    assert_problem(anonymous.get("/api/v1/wall/timelines/public"), 401)


# --- Timelines -----------------------------------------------------------------------------------


def test_public_timeline_pages_with_a_cursor(requester, other_api):
    posts = [actions.do_post(requester, body=f"post {n}") for n in range(5)]
    first = other_api.get("/api/v1/wall/timelines/public?limit=3")
    assert first.status_code == 200
    page = body(first)
    assert [p["id"] for p in page["items"]] == [p.pk for p in posts[::-1][:3]]
    assert 'rel="next"' in first["Link"]
    second = body(
        other_api.get(f"/api/v1/wall/timelines/public?limit=3&cursor={page['next_cursor']}")
    )
    assert [p["id"] for p in second["items"]] == [posts[1].pk, posts[0].pk]
    assert second["next_cursor"] is None


def test_bad_cursor_and_limit_are_422(requester_api):
    assert_problem(requester_api.get("/api/v1/wall/timelines/public?cursor=nonsense"), 422)
    assert_problem(requester_api.get("/api/v1/wall/timelines/public?limit=101"), 422)


def test_timelines_list_only_what_you_may_see(
    requester, other_requester, other_api, ana_person, vpn_service, finance_team
):
    team_post(requester, finance_team, "#vpn budget")
    vpn = actions.do_post(requester, body="#vpn down for @ana.lopez")
    actions.do_follow(other_requester, FollowKind.SERVICE, vpn_service)
    mine = actions.do_post(other_requester, body="my own")

    def ids(path, caller=other_api):
        response = caller.get(path)
        assert response.status_code == 200, response.content
        return [p["id"] for p in body(response)["items"]]

    assert ids("/api/v1/wall/timelines/home") == [mine.pk, vpn.pk]
    assert ids("/api/v1/wall/timelines/public") == [mine.pk, vpn.pk]
    assert ids("/api/v1/wall/timelines/services/vpn") == [vpn.pk]
    assert ids("/api/v1/wall/timelines/tags/vpn") == [vpn.pk]
    assert ids("/api/v1/wall/timelines/tags/%23VPN") == [vpn.pk]
    assert ids("/api/v1/wall/timelines/tags/never-used") == []
    assert ids("/api/v1/wall/timelines/mentions") == []
    assert_problem(other_api.get("/api/v1/wall/timelines/services/nope"), 404)


def test_mentions_and_announcements(requester, as_token, ana_person, vpn_agent):
    mention = actions.do_post(requester, body="@ana.lopez can you look?")
    announcement = actions.do_announce(vpn_agent, "Maintenance tonight")
    ana_api = as_token(ana_person)
    assert [p["id"] for p in body(ana_api.get("/api/v1/wall/timelines/mentions"))["items"]] == [
        mention.pk
    ]
    items = body(ana_api.get("/api/v1/wall/timelines/announcements"))["items"]
    assert [(p["id"], p["kind"], p["is_pinned"]) for p in items] == [
        (announcement.pk, "announcement", True)
    ]


def test_confidential_service_timeline_is_404_for_requesters(
    other_api, agent_api, security_service
):
    assert_problem(other_api.get("/api/v1/wall/timelines/services/security-operations"), 404)
    assert agent_api.get("/api/v1/wall/timelines/services/security-operations").status_code == 200


def test_thread_oldest_first_and_404_when_unseen(
    requester, other_requester, other_api, finance_team
):
    root = actions.do_post(requester, body="root")
    reply = actions.do_post(other_requester, body="reply", reply_to=root)
    response = other_api.get(f"/api/v1/wall/posts/{reply.pk}/thread")
    assert [p["id"] for p in body(response)["items"]] == [root.pk, reply.pk]
    hidden = team_post(requester, finance_team)
    assert_problem(other_api.get(f"/api/v1/wall/posts/{hidden.pk}/thread"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/wall/timelines/public",
        "/api/v1/wall/timelines/home",
        "/api/v1/wall/timelines/tags/vpn",
    ],
)
def test_a_timeline_page_costs_the_same_queries_for_3_or_30_posts(
    path, requester, other_requester, other_api, ana_person, vpn_service, query_count
):
    actions.do_follow(other_requester, FollowKind.SERVICE, vpn_service)

    def add(n):
        for i in range(n):
            actions.do_post(requester, body=f"#vpn #slow down {i} @ana.lopez")

    def queries():
        other_api.get(path)  # warm: the token's last use is written at most once a minute
        with query_count() as ctx:
            response = other_api.get(f"{path}?limit=100")
        assert response.status_code == 200
        return len(ctx), len(body(response)["items"])

    add(3)
    few, three = queries()
    add(27)
    many, thirty = queries()
    assert (three, thirty) == (3, 30)
    assert few == many


# --- Reactions -----------------------------------------------------------------------------------


def test_react_and_unreact_answer_the_counts(requester, other_requester, other_api, capture_events):
    post = actions.do_post(requester, body="thanks all")
    with capture_events() as events:
        response = other_api.post(f"/api/v1/wall/posts/{post.pk}/reactions/like")
    assert response.status_code == 200, response.content
    assert body(response) == {
        "id": post.pk,
        "reply_count": 0,
        "like_count": 1,
        "me_too_count": 0,
        "thanks_count": 0,
        "solved_count": 0,
    }
    assert [e.op for e in events] == ["reaction"]
    assert_problem(other_api.post(f"/api/v1/wall/posts/{post.pk}/reactions/like"), 409)
    response = other_api.delete(f"/api/v1/wall/posts/{post.pk}/reactions/like")
    assert body(response)["like_count"] == 0
    assert not Reaction.objects.exists()
    assert_problem(other_api.delete(f"/api/v1/wall/posts/{post.pk}/reactions/like"), 404)
    assert_problem(other_api.post(f"/api/v1/wall/posts/{post.pk}/reactions/love"), 422)


def test_reacting_to_an_unseen_post_is_404(requester, other_api, finance_team, nothing_changes):
    hidden = team_post(requester, finance_team)
    with nothing_changes():
        response = other_api.post(f"/api/v1/wall/posts/{hidden.pk}/reactions/me_too")
    assert_problem(response, 404, "not_found")


def test_me_too_on_a_promoted_post_makes_you_affected(
    requester, other_requester, other_api, vpn_agent, vpn_service
):
    post = actions.do_post(requester, body="#vpn down")
    incident = actions.do_promote_to_incident(
        vpn_agent, [post], title="VPN down", service=vpn_service
    )
    response = other_api.post(f"/api/v1/wall/posts/{post.pk}/reactions/me_too")
    assert body(response)["me_too_count"] == 1
    assert AffectedUser.objects.filter(incident=incident, user=other_requester).exists()


# --- Follows -------------------------------------------------------------------------------------


def test_follow_and_unfollow_each_kind(requester, other_requester, other_api, vpn_service):
    post = actions.do_post(requester, body="#printers jammed")
    reply = actions.do_post(requester, body="still", reply_to=post)
    for kind, target, stored in [
        ("service", "vpn", vpn_service.pk),
        ("hashtag", "#Printers", post.hashtags.get().pk),
        ("person", requester.pk, requester.pk),
        ("thread", reply.pk, post.pk),
    ]:
        response = other_api.post("/api/v1/wall/follows", {"kind": kind, "target": target})
        assert response.status_code == 201, response.content
        assert body(response)["kind"] == kind and body(response)["target_id"] == stored
        again = other_api.post("/api/v1/wall/follows", {"kind": kind, "target": target})
        assert_problem(again, 409, "conflict")
    assert Follow.objects.filter(user=other_requester).count() == 4
    response = other_api.request(
        "DELETE", "/api/v1/wall/follows", {"kind": "service", "target": "vpn"}
    )
    assert response.status_code == 204
    response = other_api.request(
        "DELETE", "/api/v1/wall/follows", {"kind": "service", "target": "vpn"}
    )
    assert_problem(response, 404)
    assert Follow.objects.filter(user=other_requester).count() == 3


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"kind": "service", "target": "security-operations"}, 404),
        ({"kind": "service", "target": 7}, 422),
        ({"kind": "person", "target": "ana"}, 422),
        ({"kind": "hashtag", "target": "unknown"}, 404),
        ({"kind": "friend", "target": 1}, 422),
    ],
)
def test_bad_follows(other_api, security_service, payload, status, nothing_changes):
    with nothing_changes():
        assert_problem(other_api.post("/api/v1/wall/follows", payload), status)


def test_following_a_thread_you_may_not_see_is_404(
    requester, other_api, finance_team, nothing_changes
):
    hidden = team_post(requester, finance_team)
    with nothing_changes():
        response = other_api.post("/api/v1/wall/follows", {"kind": "thread", "target": hidden.pk})
    assert_problem(response, 404)


# --- Trending and "is it just me?" --------------------------------------------------------------


def test_trending_counts_posts_you_may_see(requester, other_requester, other_api, vpn_service):
    for text in ["#vpn down", "#vpn slow", "#vpn again"]:
        actions.do_post(requester, body=text)
    response = other_api.get("/api/v1/wall/trending")
    assert response.status_code == 200, response.content
    assert body(response) == [
        {"name": "vpn", "service": "vpn", "recent": 3, "usual": 0.0, "score": 3.0}
    ]


def test_suggestions_find_the_service_its_incidents_and_similar_posts(
    requester, agent_api, vpn_service
):
    post = actions.do_post(requester, body="#vpn keeps disconnecting every minute")
    actions.do_post(requester, body="#vpn printer toner empty")
    incident = incident_actions.do_create_incident(
        requester, title="VPN flapping", description="", service=vpn_service, category="network"
    )
    # Staff: the requester's incident is internal to the people involved.
    response = agent_api.get(
        "/api/v1/wall/suggestions", data={"text": "vpn disconnecting every minute #vpn"}
    )
    assert response.status_code == 200, response.content
    answer = body(response)
    assert answer["service"]["slug"] == "vpn"
    assert [i["number"] for i in answer["incidents"]] == [incident.number]
    assert [p["id"] for p in answer["similar"]] == [post.pk]
    assert answer["rate"] == {
        "recent": 2,
        "usual": 0,
        "text": "2 reports in the last hour, usually 0",
    }
    assert_problem(agent_api.get("/api/v1/wall/suggestions"), 422)


# --- Reports and moderation ----------------------------------------------------------------------


def test_report_a_post_once(requester, other_api, capture_events):
    post = actions.do_post(requester, body="rude words")
    with capture_events() as events:
        response = other_api.post(f"/api/v1/wall/posts/{post.pk}/report", {"reason": "rude"})
    assert response.status_code == 201, response.content
    assert body(response)["post"] == post.pk and body(response)["state"] == "open"
    assert [(e.op, e.streams) for e in events] == [("report", ["staff"])]
    again = other_api.post(f"/api/v1/wall/posts/{post.pk}/report", {"reason": "rude"})
    assert_problem(again, 409)
    assert_problem(other_api.post(f"/api/v1/wall/posts/{post.pk}/report", {"reason": ""}), 422)


def test_moderators_hide_unhide_and_approve(
    requester, other_requester, other_api, agent_api, vpn_agent
):
    post = actions.do_post(requester, body="rude words")
    actions.do_report_post(other_requester, post, "rude")
    response = agent_api.post(f"/api/v1/wall/posts/{post.pk}/hide", {"reason": "Abusive"})
    assert response.status_code == 200, response.content
    assert body(response)["moderation"] == "hidden"
    assert PostReport.objects.get().state == ReportState.HIDDEN
    assert_problem(other_api.get(f"/api/v1/wall/posts/{post.pk}"), 404)
    response = agent_api.post(f"/api/v1/wall/posts/{post.pk}/unhide")
    assert body(response)["moderation"] == "visible"

    WatchedWord.objects.create(word="lawsuit", action="hold", created_by=vpn_agent)
    held = actions.do_post(requester, body="a lawsuit")
    response = agent_api.post(f"/api/v1/wall/posts/{held.pk}/approve")
    assert body(response)["moderation"] == "visible"
    assert_problem(agent_api.post(f"/api/v1/wall/posts/{held.pk}/approve"), 409)


def test_requesters_may_not_moderate(requester, other_api, nothing_changes):
    post = actions.do_post(requester, body="rude words")
    with nothing_changes():
        hide = other_api.post(f"/api/v1/wall/posts/{post.pk}/hide", {"reason": "no"})
        approve = other_api.post(f"/api/v1/wall/posts/{post.pk}/approve")
    assert_problem(hide, 403, "forbidden")
    assert_problem(approve, 403, "forbidden")
    assert Post.objects.get().moderation == ModerationState.VISIBLE


def test_promote_posts_to_an_incident(requester, other_requester, agent_api, vpn_service):
    first = actions.do_post(requester, body="#vpn down")
    second = actions.do_post(other_requester, body="#vpn down here too")
    response = agent_api.post(
        "/api/v1/wall/promote",
        {"posts": [first.pk, second.pk], "title": "VPN down", "service": "vpn"},
    )
    assert response.status_code == 201, response.content
    answer = body(response)
    incident = Incident.objects.get(number=answer["number"])
    assert answer["url"] == f"/api/v1/incidents/{incident.number}"
    assert incident.reporter == requester
    assert set(Post.objects.values_list("incident_id", flat=True)) == {incident.pk}
    assert body(agent_api.get(f"/api/v1/wall/posts/{first.pk}"))["incident"] == incident.number
    again = agent_api.post(
        "/api/v1/wall/promote", {"posts": [first.pk], "title": "Again", "service": "vpn"}
    )
    assert_problem(again, 409)


def test_promote_needs_staff_and_visible_posts(
    requester, requester_api, agent_api, vpn_service, nothing_changes
):
    post = actions.do_post(requester, body="#vpn down")
    with nothing_changes():
        forbidden = requester_api.post(
            "/api/v1/wall/promote", {"posts": [post.pk], "title": "VPN", "service": "vpn"}
        )
        missing = agent_api.post(
            "/api/v1/wall/promote", {"posts": [999999], "title": "VPN", "service": "vpn"}
        )
        bad_service = agent_api.post(
            "/api/v1/wall/promote", {"posts": [post.pk], "title": "VPN", "service": "nope"}
        )
    assert_problem(forbidden, 403)
    assert_problem(missing, 404)
    assert_problem(bad_service, 422)
    assert not Incident.objects.exists()


@pytest.fixture
def ana_person(make_person):
    """Someone to mention: her handle is @ana.lopez."""
    return make_person("ana.lopez@example.test")
