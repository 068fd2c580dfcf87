"""Follows, relationships, hashtags and search through the Mastodon API
(docs/integrations/mastodon.md), with Mastodon.py against a live web server.

A Mastodon app follows people and hashtags through the wall's own follow actions, so what it
follows lands on its home timeline and the follow is audited like one made on the wall's pages;
refusals (scope, an account one may not see, following oneself) change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.insights import similar
from hashdesk.search import synonyms, vocabulary
from hashdesk.wall import actions as wall
from hashdesk.wall.choices import FollowKind, PostVisibility
from hashdesk.wall.models import Follow, Hashtag
from tests.integrations.mastodon.test_api import api_base, http_client, quick_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_setup: Any, live_server: Any) -> Any:
    return live_server


@pytest.fixture
def mastodon_session() -> Iterator[requests.Session]:
    session = requests.Session()
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _fresh_search_caches() -> Iterator[None]:
    similar.forget_statistics()
    vocabulary.forget()
    synonyms.forget()
    yield
    similar.forget_statistics()
    vocabulary.forget()
    synonyms.forget()


def app_for(server: Any, session: requests.Session, person: User, scope: str) -> Mastodon:
    """Mastodon.py acting as ``person`` with a token of ``scope``."""
    return Mastodon(
        access_token=quick_token(person, scope),
        api_base_url=api_base(server),
        session=session,
    )


def home_ids(app: Mastodon) -> list[str]:
    return [str(status["id"]) for status in app.timeline_home()]


def follow_audit(person: User) -> list[tuple[str, Any]]:
    return [
        (entry.action, entry.after or entry.before)
        for entry in AuditEntry.objects.filter(
            actor=person, action__in=["wall.follow", "wall.unfollow"]
        ).order_by("sequence")
    ]


def test_following_a_person_brings_their_posts_home(
    server: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    capture_events: Any,
    mastodon_session: requests.Session,
) -> None:
    app = app_for(server, mastodon_session, requester, "read write")
    post = wall.do_post(other_requester, body="The printer on floor 2 is out of toner")
    assert str(post.pk) not in home_ids(app)
    [before] = app.account_relationships(other_requester.pk)
    assert before["following"] is False and before["followed_by"] is False

    with capture_events() as events:
        followed = app.account_follow(other_requester.pk)
    assert followed["id"] == str(other_requester.pk)
    assert followed["following"] is True and followed["showing_reblogs"] is True
    assert followed["notifying"] is False and followed["requested"] is False
    assert Follow.objects.filter(
        user=requester, kind=FollowKind.PERSON, target_id=other_requester.pk
    ).exists()
    # Audited and announced exactly as the wall's own follow action does it.
    assert follow_audit(requester) == [
        ("wall.follow", {"kind": "person", "target": other_requester.pk})
    ]
    with capture_events() as wall_events:
        wall.do_follow(vpn_agent, FollowKind.PERSON, other_requester)
    assert [e.type for e in events] == [e.type for e in wall_events]
    assert str(post.pk) in home_ids(app)

    # Mastodon's follow is idempotent: again is a success and changes nothing.
    assert app.account_follow(other_requester.pk)["following"] is True
    assert Follow.objects.filter(user=requester, kind=FollowKind.PERSON).count() == 1
    assert len(follow_audit(requester)) == 1

    wall.do_follow(other_requester, FollowKind.PERSON, requester)
    [both] = app.account_relationships([other_requester.pk, "999999", "nope"])
    assert both["following"] is True and both["followed_by"] is True
    assert app.account(other_requester.pk)["followers_count"] == 2

    unfollowed = app.account_unfollow(other_requester.pk)
    assert unfollowed["following"] is False and unfollowed["followed_by"] is True
    assert follow_audit(requester)[-1] == (
        "wall.unfollow",
        {"kind": "person", "target": other_requester.pk},
    )
    assert str(post.pk) not in home_ids(app)
    assert app.account_unfollow(other_requester.pk)["following"] is False
    assert len(follow_audit(requester)) == 2


def test_following_hashtags_brings_their_posts_home(
    server: Any,
    requester: User,
    other_requester: User,
    vpn_service: Service,
    mastodon_session: requests.Session,
) -> None:
    app = app_for(server, mastodon_session, requester, "read write")
    post = wall.do_post(other_requester, body="Anyone else's #printers jamming?")
    tag = app.tag("printers")
    assert tag["name"] == "printers" and tag["following"] is False
    assert tag["url"].endswith("/wall/tags/printers/")
    assert len(tag["history"]) == 7 and tag["history"][0]["uses"] == "1"
    assert tag["history"][0]["accounts"] == "1"
    assert str(post.pk) not in home_ids(app)

    followed = app.tag_follow("printers")
    assert followed["following"] is True
    printers = Hashtag.objects.get(name="printers")
    assert follow_audit(requester) == [("wall.follow", {"kind": "hashtag", "target": printers.pk})]
    assert str(post.pk) in home_ids(app)
    assert app.tag_follow("printers")["following"] is True
    assert len(follow_audit(requester)) == 1

    # A tag nobody has used yet may be followed (as on the preferences page); a service's own
    # hashtag is bound to its service, as the wall binds it.
    assert app.tag_follow("newtopic")["following"] is True
    assert app.tag_follow("vpn")["following"] is True
    assert Hashtag.objects.get(name="vpn").service == vpn_service
    later = wall.do_post(other_requester, body="The #vpn is slow")
    assert str(later.pk) in home_ids(app)

    names = [tag["name"] for tag in app.followed_tags(limit=2)]
    assert names == ["vpn", "newtopic"]
    older = app.fetch_next(app.followed_tags(limit=2))
    assert older is not None and [tag["name"] for tag in older] == ["printers"]

    unfollowed = app.tag_unfollow("printers")
    assert unfollowed["following"] is False
    assert follow_audit(requester)[-1] == (
        "wall.unfollow",
        {"kind": "hashtag", "target": printers.pk},
    )
    assert str(post.pk) not in home_ids(app)
    assert app.tag_unfollow("printers")["following"] is False
    assert app.tag_unfollow("neverused")["following"] is False
    unused = app.tag("neverused")
    assert unused["following"] is False and unused["history"][0]["uses"] == "0"
    assert not Hashtag.objects.filter(name="neverused").exists()
    with pytest.raises(MastodonNotFoundError):
        app.tag("not-a-tag!")


def test_search_finds_what_the_viewer_may_see(
    server: Any,
    requester: User,
    other_requester: User,
    administrator: User,
    make_person: Any,
    mastodon_session: requests.Session,
) -> None:
    app = app_for(server, mastodon_session, requester, "read")
    gone = make_person("printer.expert@example.test", display_name="Printer Expert")
    account_actions.do_set_active(administrator, gone, active=False)
    team = account_actions.do_create_team(None, name="Print room")
    account_actions.do_add_team_member(None, team, other_requester)
    public = wall.do_post(other_requester, body="The #printer on floor 2 jams on every job")
    wall.do_post(
        other_requester,
        body="The #printersecret printer budget",
        visibility=PostVisibility.TEAM,
        team=team,
    )
    wall.do_follow(requester, FollowKind.PERSON, other_requester)

    found = app.search_v2("colleague", resolve=True)
    assert [a["id"] for a in found["accounts"]] == [str(other_requester.pk)]
    by_handle = app.search_v2("@colleague@elsewhere.example", result_type="accounts")
    assert [a["acct"] for a in by_handle["accounts"]] == ["colleague"]
    # The email domain is not part of a handle: it matches nobody.
    assert app.search_v2("example.test", result_type="accounts")["accounts"] == []
    # A deactivated person is not someone the viewer may see.
    assert app.search_v2("Printer Expert", result_type="accounts")["accounts"] == []
    following = app.search_v2("requester", result_type="accounts")
    assert [a["id"] for a in following["accounts"]] == [str(requester.pk)]
    http = http_client(api_base(server))
    only_followed = http.get(
        "/api/v2/search",
        params={"q": "e", "type": "accounts", "following": "true"},
        headers={"Authorization": f"Bearer {quick_token(requester, 'read')}"},
    ).json()
    assert [a["id"] for a in only_followed["accounts"]] == [str(other_requester.pk)]

    # Hashtags by prefix; one used only in a team's posts is not revealed to outsiders.
    tags = app.search_v2("#print", result_type="hashtags")["hashtags"]
    assert [tag["name"] for tag in tags] == ["printer"]
    insider = app_for(server, mastodon_session, other_requester, "read")
    assert [t["name"] for t in insider.search_v2("print", result_type="hashtags")["hashtags"]] == [
        "printer",
        "printersecret",
    ]
    second = insider.search_v2("print", result_type="hashtags", limit=1, offset=1)
    assert [tag["name"] for tag in second["hashtags"]] == ["printersecret"]

    # Posts through the project's search, with the viewer's visibility.
    statuses = app.search_v2("printer jams", result_type="statuses")["statuses"]
    assert [s["id"] for s in statuses] == [str(public.pk)]
    everything = app.search_v2("printer")
    assert [s["id"] for s in everything["statuses"]] == [str(public.pk)]
    assert everything["hashtags"][0]["name"] == "printer"
    assert app.search_v2("printer", offset=1)["statuses"] == []
    assert len(insider.search_v2("printer")["statuses"]) == 2


def test_refusals_change_nothing(
    server: Any,
    requester: User,
    other_requester: User,
    administrator: User,
    make_person: Any,
) -> None:
    http = http_client(api_base(server))

    def bearer(scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {quick_token(requester, scope)}"}

    reader, writer, legacy = bearer("read"), bearer("read write"), bearer("follow")
    only_writes = bearer("write:follows")
    gone = make_person("gone@example.test")
    account_actions.do_set_active(administrator, gone, active=False)
    audit = AuditEntry.objects.count()
    follows = Follow.objects.count()

    for path in (
        f"/api/v1/accounts/{other_requester.pk}/follow",
        f"/api/v1/accounts/{other_requester.pk}/unfollow",
        "/api/v1/tags/printers/follow",
        "/api/v1/tags/printers/unfollow",
    ):
        refused = http.post(path, headers=reader)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json() == {"error": "This action is outside the authorized scopes"}
    assert http.get("/api/v1/followed_tags", headers=only_writes).status_code == 403
    relationships = http.get(
        "/api/v1/accounts/relationships", params={"id[]": other_requester.pk}, headers=only_writes
    )
    assert relationships.status_code == 403
    assert http.get("/api/v2/search?q=x", headers=only_writes).status_code == 403

    hidden = http.post(f"/api/v1/accounts/{gone.pk}/follow", headers=writer)
    assert hidden.status_code == 404 and hidden.json() == {"error": "Record not found"}
    assert http.post("/api/v1/accounts/nobody/follow", headers=writer).status_code == 404
    unseen = http.get(
        "/api/v1/accounts/relationships", params={"id[]": [gone.pk]}, headers=reader
    ).json()
    assert unseen == []
    yourself = http.post(f"/api/v1/accounts/{requester.pk}/follow", headers=writer)
    assert yourself.status_code == 422 and yourself.json()["error"].startswith("Validation failed")
    bad_tag = http.post("/api/v1/tags/Not%20a%20tag/follow", headers=writer)
    assert bad_tag.status_code == 404
    bad_type = http.get("/api/v2/search", params={"q": "x", "type": "people"}, headers=reader)
    assert bad_type.status_code == 422
    assert http.get("/api/v2/search?q=x&offset=-1", headers=reader).status_code == 422
    assert AuditEntry.objects.count() == audit
    assert Follow.objects.count() == follows

    # The legacy "follow" scope is enough to follow and to read relationships.
    legacy_follow = http.post(f"/api/v1/accounts/{other_requester.pk}/follow", headers=legacy)
    assert legacy_follow.status_code == 200 and legacy_follow.json()["following"] is True
    assert (
        http.get(
            "/api/v1/accounts/relationships", params={"id[]": other_requester.pk}, headers=legacy
        ).json()[0]["following"]
        is True
    )


def test_relationships_cost_the_same_for_one_and_twenty_accounts(
    requester: User, make_person: Any, query_count: Any
) -> None:
    people = [make_person(f"person{number}@example.test") for number in range(20)]
    for person in people[::2]:
        wall.do_follow(requester, FollowKind.PERSON, person)
        wall.do_follow(person, FollowKind.PERSON, requester)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {quick_token(requester, 'read')}")

    def ask(ids: list[int]) -> tuple[int, list[dict[str, Any]]]:
        query = "&".join(f"id[]={pk}" for pk in ids)
        with query_count() as queries:
            answer = client.get(f"/mastodon/api/v1/accounts/relationships?{query}")
        assert answer.status_code == 200
        return len(queries), answer.json()

    one, [single] = ask([people[0].pk])
    assert single["following"] is True and single["followed_by"] is True
    twenty, many = ask([person.pk for person in people])
    assert one == twenty
    assert [item["id"] for item in many] == [str(person.pk) for person in people]
    assert [item["following"] for item in many] == [number % 2 == 0 for number in range(20)]


def test_a_read_only_token_cannot_follow_through_mastodon_py(
    server: Any, requester: User, other_requester: User, mastodon_session: requests.Session
) -> None:
    app = app_for(server, mastodon_session, requester, "read")
    with pytest.raises(MastodonAPIError):
        app.account_follow(other_requester.pk)
    assert not Follow.objects.filter(user=requester).exists()
