"""The wall's pages: timelines with the composer, threads, reactions, follows, reports, the
"Is it just me?" suggestions and the live fragment (docs/wall.md, "Pages")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from hashdesk.wall import actions
from hashdesk.wall.choices import FollowKind, PostVisibility, WatchedWordAction
from hashdesk.wall.models import Follow, Hashtag, Post, PostReport, Reaction

SECRET = "Hunter2Secret!"


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def _html(response: Any) -> str:
    return str(response.content.decode())


# --- Timelines ----------------------------------------------------------------------------------


def test_home_shows_my_posts_and_what_i_follow_and_everyone_shows_the_rest(
    client_for: Any, requester: User, other_requester: User, vpn_service: Service
) -> None:
    actions.do_post(requester, body="My laptop fan is loud")
    actions.do_post(other_requester, body="#vpn keeps dropping")
    actions.do_post(other_requester, body="Coffee machine is empty")
    actions.do_follow(requester, FollowKind.SERVICE, vpn_service)
    client = client_for(requester)

    home = _html(client.get("/wall/"))
    assert "My laptop fan is loud" in home
    assert "keeps dropping" in home
    assert "Coffee machine is empty" not in home
    assert 'aria-current="page">Following' in home
    assert "<span>Wall</span>" in home  # the navigation entry

    everyone = _html(client.get("/wall/everyone/"))
    assert "Coffee machine is empty" in everyone


def test_timeline_pages_render_for_requester_and_staff(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
) -> None:
    post = actions.do_post(requester, body="#vpn is slow @other")
    reply = actions.do_post(other_requester, body="Same here", reply_to=post)
    for person in (requester, vpn_agent):
        client = client_for(person)
        for path in (
            "/wall/",
            "/wall/everyone/",
            "/wall/mentions/",
            "/wall/tags/vpn/",
            f"/wall/services/{vpn_service.slug}/",
            f"/wall/people/{requester.pk}/",
            f"/wall/posts/{post.pk}/",
            f"/wall/posts/{reply.pk}/",
            f"/wall/posts/{post.pk}/report/",
        ):
            response = client.get(path)
            assert response.status_code == 200, (person, path)
            html = _html(response)
            assert html.count("<h1") == 1, path
            title = html[html.index("<title>") : html.index("</title>")]
            assert "<" not in title[1:] and "Wall" in title, path
    thread = _html(client_for(requester).get(f"/wall/posts/{post.pk}/"))
    assert "Same here" in thread and "is slow" in thread
    # Hashtags link to the tag page this module serves (wall.parsing's links).
    assert 'href="/wall/tags/vpn/"' in thread


def test_tag_page_of_an_unused_tag_is_empty_and_offers_no_follow(
    client_for: Any, requester: User
) -> None:
    response = client_for(requester).get("/wall/tags/nobody-uses-this/")
    assert response.status_code == 200
    assert "No posts here yet." in _html(response)
    assert 'action="/wall/follow/"' not in _html(response)


def test_invisible_posts_people_and_services_are_404(
    client_for: Any,
    requester: User,
    other_requester: User,
    finance_team: Team,
    security_service: Service,
) -> None:
    team_post = actions.do_post(
        requester, body="Budget sheet is locked", visibility=PostVisibility.TEAM, team=finance_team
    )
    client = client_for(other_requester)
    for path in (
        f"/wall/posts/{team_post.pk}/",
        f"/wall/posts/{team_post.pk}/report/",
        f"/wall/services/{security_service.slug}/",
        "/wall/people/999999/",
        "/wall/posts/999999/",
    ):
        assert client.get(path).status_code == 404, path
    response = client.post(f"/wall/posts/{team_post.pk}/react/", {"kind": "like", "on": "yes"})
    assert response.status_code == 404
    assert not Reaction.objects.exists()
    assert "Budget sheet" not in _html(client.get("/wall/everyone/"))
    assert "Budget sheet" in _html(client_for(requester).get("/wall/everyone/"))


def test_the_wall_needs_a_signed_in_person(db: Any) -> None:
    response = Client().get("/wall/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_older_posts_are_cursor_pages(client_for: Any, requester: User) -> None:
    for n in range(23):
        actions.do_post(requester, body=f"Post number {n:02d}")
    client = client_for(requester)
    first = client.get("/wall/")
    html = _html(first)
    assert "Post number 22" in html and "Post number 02" not in html
    older = first.context["older_url"]
    assert older
    second = _html(client.get(older))
    assert "Post number 02" in second and "Post number 22" not in second
    # New posts are announced on the first page only.
    assert 'data-fragment-url="/wall/fragment/?timeline=home"' in html
    assert 'data-fragment-url=""' in second
    assert client.get("/wall/?cursor=not-a-cursor").status_code == 404


def test_home_timeline_costs_the_same_queries_for_3_and_30_posts(
    client_for: Any, requester: User, other_requester: User, vpn_service: Service, query_count: Any
) -> None:
    actions.do_follow(requester, FollowKind.PERSON, other_requester)
    client = client_for(requester)

    def queries_for(total: int) -> int:
        while Post.objects.count() < total:
            n = Post.objects.count()
            post = actions.do_post(other_requester, body=f"#vpn down {n} @requester")
            actions.do_react(requester, post, "like")
        with query_count() as ctx:
            response = client.get("/wall/")
        assert response.status_code == 200
        return len(ctx)

    assert queries_for(3) == queries_for(30)


# --- The composer -------------------------------------------------------------------------------


def test_posting_redirects_with_a_message(client_for: Any, requester: User) -> None:
    client = client_for(requester)
    response = client.post(
        "/wall/posts/new/",
        {"body": "Printer on 3rd floor jams", "audience": "everyone", "next": "/wall/everyone/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/wall/everyone/"
    html = _html(response)
    assert "Your post is on the wall." in html
    assert "Printer on 3rd floor jams" in html
    assert Post.objects.get().visibility == PostVisibility.PUBLIC


def test_posting_to_a_team_and_an_outside_next_is_ignored(
    client_for: Any, requester: User, finance_team: Team
) -> None:
    response = client_for(requester).post(
        "/wall/posts/new/",
        {"body": "Month end close", "audience": finance_team.slug, "next": "https://evil.test/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/wall/"
    post = Post.objects.get()
    assert post.visibility == PostVisibility.TEAM and post.team == finance_team
    # The page asks the event server for the team's stream, where team posts are published.
    page = _html(client_for(requester).get("/wall/"))
    assert f'data-streams="team:{finance_team.pk}"' in page


def test_someone_elses_team_is_not_offered(
    client_for: Any, other_requester: User, finance_team: Team
) -> None:
    client = client_for(other_requester)
    assert finance_team.slug not in _html(client.get("/wall/"))
    response = client.post("/wall/posts/new/", {"body": "Sneaky", "audience": finance_team.slug})
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_redaction_is_told_to_the_author(client_for: Any, requester: User) -> None:
    response = client_for(requester).post(
        "/wall/posts/new/",
        {"body": f"VPN fails, my password: {SECRET}", "audience": "everyone"},
        follow=True,
    )
    html = _html(response)
    assert "We removed a password before posting." in html
    assert "message--warning" in html
    assert SECRET not in html
    assert SECRET not in Post.objects.get().body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("   ", "Write something to post."),
        ("x" * 2001, "A post is at most 2000 characters."),
        ("Please frobnicate the server", "This post contains a word that is not allowed"),
    ],
)
def test_refused_posts_show_the_error_on_the_form_and_post_nothing(
    client_for: Any, requester: User, vpn_agent: User, body: str, error: str
) -> None:
    actions.do_add_watched_word(vpn_agent, "frobnicate", WatchedWordAction.BLOCK)
    response = client_for(requester).post(
        "/wall/posts/new/", {"body": body, "audience": "everyone", "timeline": "everyone"}
    )
    assert response.status_code == 400
    html = _html(response)
    assert error.split(".")[0][:20] in html
    assert 'aria-invalid="true"' in html
    assert not Post.objects.exists()


def test_rate_limited_posts_are_refused_on_the_form(
    client_for: Any, requester: User, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_post": (1, 60)}
    settings.RATE_LIMITS_ENABLED = True
    client = client_for(requester)
    client.post("/wall/posts/new/", {"body": "First", "audience": "everyone"})
    response = client.post("/wall/posts/new/", {"body": "Second", "audience": "everyone"})
    assert response.status_code == 400
    assert "error-summary" in _html(response)
    assert list(Post.objects.values_list("body", flat=True)) == ["First"]


def test_a_refusal_on_a_tag_page_re_renders_that_page(client_for: Any, requester: User) -> None:
    actions.do_post(requester, body="#printers out of toner")
    response = client_for(requester).post(
        "/wall/posts/new/",
        {"body": "", "audience": "everyone", "timeline": "tag", "timeline_value": "printers"},
    )
    assert response.status_code == 400
    html = _html(response)
    assert "<h1>#printers</h1>" in html
    # Its links and the composer's way back name the tag page, not the composer's address.
    assert '<input type="hidden" name="next" value="/wall/tags/printers/">' in html
    assert 'value="/wall/posts/new/"' not in html


# --- Threads and replies ------------------------------------------------------------------------


def test_replying_in_a_thread(client_for: Any, requester: User, other_requester: User) -> None:
    post = actions.do_post(requester, body="Wifi in room 4 is down")
    client = client_for(other_requester)
    response = client.post(f"/wall/posts/{post.pk}/reply/", {"body": "Room 5 too"})
    reply = Post.objects.get(reply_to=post)
    assert response["Location"] == f"/wall/posts/{post.pk}/#post-{reply.pk}"
    refused = client.post(f"/wall/posts/{post.pk}/reply/", {"body": ""})
    assert refused.status_code == 400
    assert f'name="next" value="/wall/posts/{post.pk}/"' in _html(refused)
    assert Post.objects.filter(reply_to=post).count() == 1
    home = _html(client_for(requester).get("/wall/"))
    assert 'data-count="replies">1</span> reply<' in home


# --- Reactions, follows, reports ----------------------------------------------------------------


def test_reacting_and_taking_it_back(
    client_for: Any, requester: User, other_requester: User, capture_events: Any
) -> None:
    post = actions.do_post(requester, body="Teams calls drop")
    client = client_for(other_requester)
    with capture_events() as events:
        response = client.post(
            f"/wall/posts/{post.pk}/react/",
            {"kind": "me_too", "on": "yes", "next": "/wall/everyone/"},
        )
    assert response["Location"] == f"/wall/everyone/#post-{post.pk}"
    assert [(e.type, e.op) for e in events] == [("wall_post", "reaction")]
    post.refresh_from_db()
    assert post.me_too_count == 1
    html = _html(client.get("/wall/everyone/"))
    assert (
        'aria-pressed="true">Me too <span class="wall-reaction__count" data-count="me_too">1'
        in html
    )
    assert 'aria-pressed="false">Like' in html
    # Twice the same way: a message, nothing changes.
    again = client.post(
        f"/wall/posts/{post.pk}/react/", {"kind": "me_too", "on": "yes"}, follow=True
    )
    assert "You already reacted this way." in _html(again)
    client.post(f"/wall/posts/{post.pk}/react/", {"kind": "me_too", "on": "no"})
    post.refresh_from_db()
    assert post.me_too_count == 0
    assert not Reaction.objects.exists()


def test_following_and_unfollowing_from_the_pages(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_service: Service,
) -> None:
    post = actions.do_post(other_requester, body="#vpn #printers trouble")
    client = client_for(requester)
    targets = [
        (FollowKind.SERVICE, vpn_service.slug, f"/wall/services/{vpn_service.slug}/"),
        (FollowKind.HASHTAG, "printers", "/wall/tags/printers/"),
        (FollowKind.PERSON, str(other_requester.pk), f"/wall/people/{other_requester.pk}/"),
        (FollowKind.THREAD, str(post.pk), f"/wall/posts/{post.pk}/"),
    ]
    for kind, target, page in targets:
        assert ">Follow<" in _html(client.get(page)), page
        response = client.post(
            "/wall/follow/", {"kind": kind, "target": target, "follow": "yes", "next": page}
        )
        assert response["Location"] == page
        assert ">Unfollow<" in _html(client.get(page)), page
    assert Follow.objects.filter(user=requester).count() == 4
    assert "trouble" in _html(client.get("/wall/"))
    for kind, target, _page in targets:
        client.post("/wall/follow/", {"kind": kind, "target": target, "follow": "no"})
    assert not Follow.objects.exists()
    assert (
        client.post(
            "/wall/follow/", {"kind": FollowKind.HASHTAG, "target": "never-used"}
        ).status_code
        == 404
    )


def test_reporting_a_post(client_for: Any, requester: User, other_requester: User) -> None:
    post = actions.do_post(requester, body="Rude words")
    client = client_for(other_requester)
    refused = client.post(f"/wall/posts/{post.pk}/report/", {"reason": ""})
    assert refused.status_code == 400
    response = client.post(f"/wall/posts/{post.pk}/report/", {"reason": "Not nice"}, follow=True)
    assert "A moderator will look at the post." in _html(response)
    assert PostReport.objects.get().reason == "Not nice"


# --- "Is it just me?" and the live fragment -----------------------------------------------------


def test_suggestions_name_the_service_its_incidents_and_similar_posts(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_service: Service,
    vpn_incident: Incident,
) -> None:
    actions.do_post(other_requester, body="#vpn disconnects every ten minutes")
    response = client_for(requester).get(
        "/wall/suggestions/", {"text": "#vpn disconnects every few minutes"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["service"]["name"] == vpn_service.name
    assert data["service"]["url"] == f"/wall/services/{vpn_service.slug}/"
    assert [i["number"] for i in data["incidents"]] == [vpn_incident.number]
    assert data["incidents"][0]["me_too_url"] == reverse(
        "incidents:me-too", args=[vpn_incident.number]
    )
    assert data["similar"][0]["text"] == "#vpn disconnects every ten minutes"
    assert "report" in data["rate"]
    empty = client_for(requester).get("/wall/suggestions/", {"text": ""}).json()
    assert empty == {"service": None, "incidents": [], "similar": [], "rate": None}


def test_fragment_lists_only_newer_posts_of_the_same_timeline(
    client_for: Any, requester: User, other_requester: User
) -> None:
    first = actions.do_post(other_requester, body="#printers old news")
    actions.do_post(other_requester, body="#printers jammed again")
    actions.do_post(other_requester, body="#coffee machine")
    client = client_for(requester)
    response = client.get(
        "/wall/fragment/", {"timeline": "tag", "name": "printers", "since": first.pk}
    )
    html = _html(response)
    assert 'data-count="1"' in html
    assert "jammed again" in html and "old news" not in html and "coffee" not in html
    home = _html(client.get("/wall/fragment/", {"timeline": "home", "since": 0}))
    assert 'data-count="0"' in home
    assert client.get("/wall/fragment/", {"timeline": "nonsense"}).status_code == 404
    assert Hashtag.objects.filter(name="printers").exists()


def test_a_threads_fragment_lists_its_new_replies_oldest_first_to_its_audience(
    client_for: Any, requester: User, other_requester: User, finance_team: Team
) -> None:
    question = actions.do_post(requester, body="Who has the projector key?")
    actions.do_post(other_requester, body="Reception has it", reply_to=question)
    actions.do_post(other_requester, body="Or ask facilities", reply_to=question)
    actions.do_post(other_requester, body="Unrelated post")
    page = _html(client_for(requester).get(f"/wall/posts/{question.pk}/"))
    fragment_url = f"/wall/fragment/?timeline=thread&amp;id={question.pk}"
    assert f'data-fragment-url="{fragment_url}"' in page
    html = _html(
        client_for(requester).get(
            "/wall/fragment/", {"timeline": "thread", "id": question.pk, "since": question.pk}
        )
    )
    assert 'data-count="2"' in html and "Unrelated" not in html
    assert html.index("Reception has it") < html.index("Or ask facilities")
    team_thread = actions.do_post(
        requester, body="Budget figures", visibility="team", team=finance_team
    )
    outsider = client_for(other_requester).get(
        "/wall/fragment/", {"timeline": "thread", "id": team_thread.pk, "since": 0}
    )
    assert outsider.status_code == 404


# --- Staff: promote to an incident, moderation --------------------------------------------------


def test_staff_promote_a_post_and_a_similar_one_to_an_incident(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
    capture_events: Any,
) -> None:
    post = actions.do_post(requester, body="#vpn disconnects every ten minutes")
    similar = actions.do_post(other_requester, body="#vpn disconnects every few minutes")
    # Requesters are not offered the controls and cannot use them.
    mine = client_for(requester)
    assert "Promote to incident" not in _html(mine.get(f"/wall/posts/{post.pk}/"))
    refused = mine.post(
        f"/wall/posts/{post.pk}/promote/", {"title": "VPN", "service": vpn_service.slug}
    )
    assert refused.status_code == 403

    desk = client_for(vpn_agent)
    assert f'href="/wall/posts/{post.pk}/?open=promote#promote"' in _html(
        desk.get("/wall/everyone/")
    )
    page = _html(desk.get(f"/wall/posts/{post.pk}/", {"open": "promote"}))
    assert '<details class="wall-staff__part" id="promote" open>' in page
    assert "Similar posts to link too" in page
    bad = desk.post(f"/wall/posts/{post.pk}/promote/", {"title": "", "service": vpn_service.slug})
    assert bad.status_code == 400
    assert not Incident.objects.exists()
    with capture_events() as events:
        response = desk.post(
            f"/wall/posts/{post.pk}/promote/",
            {"title": "VPN drops", "service": vpn_service.slug, "also": [similar.pk]},
        )
    incident = Incident.objects.get()
    assert response["Location"] == reverse("incidents:detail", args=[incident.number])
    assert incident.reporter == requester
    assert set(Post.objects.filter(incident=incident).values_list("pk", flat=True)) == {
        post.pk,
        similar.pk,
    }
    assert {e.op for e in events if e.type == "wall_post"} == {"update"}
    # The post now shows its incident, linked for its reporter, and is offered no more.
    thread = _html(desk.get(f"/wall/posts/{post.pk}/"))
    assert reverse("incidents:detail", args=[incident.number]) in thread
    assert "Record the incident" not in thread


def test_incident_chip_links_only_when_the_viewer_may_open_it(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
) -> None:
    post = actions.do_post(requester, body="#vpn broken")
    incident = actions.do_promote_to_incident(
        vpn_agent, [post], title="VPN broken", service=vpn_service
    )
    # Promoted from a public post it is public; the desk makes it internal.
    incident_actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility="internal"
    )
    link = reverse("incidents:detail", args=[incident.number])
    assert link in _html(client_for(requester).get("/wall/everyone/"))  # the reporter
    other = _html(client_for(other_requester).get("/wall/everyone/"))
    assert incident.number in other and link not in other  # internal: number, no dead link


def test_moderators_hide_with_a_reason_and_work_the_queue(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
) -> None:
    rude = actions.do_post(requester, body="Rude words")
    other = actions.do_post(requester, body="Borderline words")
    actions.do_add_watched_word(vpn_agent, "strike", WatchedWordAction.HOLD)
    held = actions.do_post(other_requester, body="We strike at noon")
    report = actions.do_report_post(other_requester, other, "Not nice")
    assert client_for(requester).get("/wall/moderation/").status_code == 403
    assert (
        client_for(requester)
        .post(f"/wall/posts/{rude.pk}/moderate/", {"decision": "hide", "reason": "Rude"})
        .status_code
        == 403
    )

    desk = client_for(vpn_agent)
    queue = _html(desk.get("/wall/moderation/"))
    assert "We strike at noon" in queue and "Not nice" in queue
    assert "Rude words" not in queue

    no_reason = desk.post(f"/wall/posts/{rude.pk}/moderate/", {"decision": "hide", "reason": ""})
    assert no_reason.status_code == 400
    assert "Give a reason." in _html(no_reason)
    desk.post(f"/wall/posts/{rude.pk}/moderate/", {"decision": "hide", "reason": "Rude"})
    desk.post(f"/wall/posts/{held.pk}/moderate/", {"decision": "approve"})
    desk.post(f"/wall/reports/{report.pk}/resolve/", {"decision": "dismiss"})
    rude.refresh_from_db()
    held.refresh_from_db()
    report.refresh_from_db()
    assert (rude.moderation, rude.moderation_reason) == ("hidden", "Rude")
    assert held.moderation == "visible"
    assert report.state == "dismissed"
    assert client_for(other_requester).get(f"/wall/posts/{rude.pk}/").status_code == 404
    assert "Hidden: Rude" in _html(desk.get(f"/wall/posts/{rude.pk}/"))
    assert "Nothing waits for a moderator." in _html(desk.get("/wall/moderation/"))
    desk.post(f"/wall/posts/{rude.pk}/moderate/", {"decision": "unhide"})
    assert client_for(other_requester).get(f"/wall/posts/{rude.pk}/").status_code == 200
