"""The knowledge API: drafting by hand and from chat, listing, reading and editing articles
(docs/api.md, "Knowledge")."""

from __future__ import annotations

import pytest
from django.test import Client

from hashdesk.chat import actions as chat_actions
from hashdesk.knowledge import actions
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/knowledge/articles"


def caller(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


def test_staff_draft_by_hand_and_requesters_are_refused(vpn_agent, requester, vpn_service):
    api = caller(vpn_agent)
    response = api.post(
        URL,
        {
            "title": "Reconnecting the VPN",
            "body": "Restart the client.\n\npassword: Hunter2-Correct!Horse",
            "visibility": "public",
            "services": ["vpn"],
        },
    )
    assert response.status_code == 201, response.content
    article = response.json()
    assert article["number"].startswith("KB-") and article["version"] == 1
    assert article["state"] == "draft" and article["services"][0]["slug"] == "vpn"
    assert "Hunter2" not in article["body"] and article["notice"].startswith("We removed")
    assert article["owner"]["id"] == vpn_agent.pk and article["origin"] == "manual"
    assert_problem(caller(requester).post(URL, {**_minimal(), "visibility": "public"}), 403)
    assert_problem(api.post(URL, {**_minimal(), "visibility": "everyone"}), 422)
    assert_problem(api.post(URL, {**_minimal(), "services": ["nope"]}), 422)
    assert Article.objects.count() == 1


def _minimal() -> dict[str, object]:
    return {"title": "T", "body": "B", "visibility": "internal"}


def test_lists_show_what_each_may_read(vpn_agent, requester, query_count):
    drafted = actions.do_create_draft(
        vpn_agent, title="Draft", body="x", visibility=ArticleVisibility.PUBLIC
    ).article
    published = actions.do_create_draft(
        vpn_agent, title="Published", body="y", visibility=ArticleVisibility.PUBLIC
    ).article
    Article.objects.filter(pk=published.pk).update(state=ArticleState.PUBLISHED)
    staff = caller(vpn_agent)
    assert {a["number"] for a in staff.get(URL).json()["items"]} == {
        drafted.number,
        published.number,
    }
    assert [a["number"] for a in staff.get(f"{URL}?state=draft").json()["items"]] == [
        drafted.number
    ]
    readers = caller(requester)
    [seen] = readers.get(URL).json()["items"]
    assert seen["number"] == published.number and seen["contributor"] is None
    assert_problem(readers.get(f"{URL}/{drafted.number}"), 404)
    assert readers.get(f"{URL}/{published.number.lower()}").status_code == 200
    with query_count() as two:
        staff.get(URL)
    for n in range(3):
        actions.do_create_draft(
            vpn_agent, title=f"More {n}", body="z", visibility=ArticleVisibility.INTERNAL
        )
    with query_count() as five:
        assert len(staff.get(URL).json()["items"]) == 5
    assert len(five) == len(two)


def test_patch_saves_a_version_and_a_stale_one_is_409(vpn_agent, requester):
    article = actions.do_create_draft(
        vpn_agent, title="Draft", body="x", visibility=ArticleVisibility.PUBLIC
    ).article
    api = caller(vpn_agent)
    url = f"{URL}/{article.number}"
    saved = api.patch(url, {"body": "Better text", "expected_version": 1, "note": "Clearer"})
    assert saved.status_code == 200, saved.content
    assert saved.json()["version"] == 2 and saved.json()["title"] == "Draft"
    assert_problem(api.patch(url, {"body": "Mine", "expected_version": 1}), 409)
    assert_problem(api.patch(url, {"title": None, "expected_version": 2}), 422)
    assert_problem(caller(requester).patch(url, {"body": "z", "expected_version": 2}), 404)
    assert Article.objects.get().body == "Better text"


def test_drafting_from_a_conversation_and_a_message(answered_conversation, vpn_agent, requester):
    api = caller(vpn_agent)
    url = f"/api/v1/chat/conversations/{answered_conversation.pk}/draft-article"
    first = api.post(url, {})
    assert first.status_code == 201, first.content
    assert first.json()["origin"] == "chat_conversation"
    assert first.json()["origin_id"] == answered_conversation.pk
    again = api.post(url, {})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_problem(caller(requester).post(url, {}), 403)
    assert_problem(api.post("/api/v1/chat/conversations/999999/draft-article", {}), 404)

    message = chat_actions.do_send_message(
        requester, answered_conversation.room, body="Thanks, that fixed it"
    ).message
    from_message = api.post(f"/api/v1/chat/messages/{message.pk}/draft-article", {})
    assert from_message.status_code == 201
    assert from_message.json()["contributor"]["id"] == requester.pk
    assert_problem(
        caller(requester).post(f"/api/v1/chat/messages/{message.pk}/draft-article", {}), 403
    )
