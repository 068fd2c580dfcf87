"""Knowledge's pages: the drafts list, an article, editing a draft, and the "Draft an article"
buttons of live help, chat messages and the wall (docs/knowledge.md, "Pages")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.chat import actions as chat_actions
from hashdesk.knowledge import actions
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleVersion
from hashdesk.wall import actions as wall_actions
from hashdesk.wall import answers, questions

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for() -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def html(response: Any) -> str:
    return str(response.content.decode())


def draft(actor: User, **fields: Any) -> Article:
    fields.setdefault("title", "Reconnecting the VPN")
    fields.setdefault("body", "Restart the **client**.")
    fields.setdefault("visibility", ArticleVisibility.PUBLIC)
    return actions.do_create_draft(actor, **fields).article


def test_the_drafts_page_lists_drafts_newest_first_with_their_origin(
    client_for, vpn_agent, answered_conversation, query_count
):
    by_hand = draft(vpn_agent)
    client = client_for(vpn_agent)
    client.get("/knowledge/drafts/")  # warm the session and navigation
    with query_count() as one:
        client.get("/knowledge/drafts/")
    from_chat = actions.do_draft_from_conversation(vpn_agent, answered_conversation).article
    published = draft(vpn_agent, title="Old article")
    Article.objects.filter(pk=published.pk).update(state=ArticleState.PUBLISHED)
    with query_count() as more:
        response = client.get("/knowledge/drafts/")
    # One query for the list however many drafts (owners and contributors joined).
    assert len(more) == len(one)
    page = html(response)
    assert response.status_code == 200
    assert page.index(from_chat.number or "") < page.index(by_hand.number or "")
    assert "Old article" not in page
    assert f'href="/chat/conversations/{answered_conversation.pk}/"' in page
    assert 'href="/knowledge/"' in page  # the navigation entry


def test_requesters_get_no_drafts_page_but_the_knowledge_entry(client_for, requester, vpn_agent):
    article = draft(vpn_agent)
    client = client_for(requester)
    assert client.get("/knowledge/drafts/").status_code == 403
    assert client.get("/knowledge/review/").status_code == 403
    assert 'href="/knowledge/"' in html(client.get("/"))
    assert client.get(f"/knowledge/articles/{article.number}/").status_code == 404
    assert client.get(f"/knowledge/articles/{article.number}/edit/").status_code == 403
    Article.objects.filter(pk=article.pk).update(state=ArticleState.PUBLISHED)
    shown = client.get(f"/knowledge/articles/{article.number}/")
    assert shown.status_code == 200 and "<strong>client</strong>" in html(shown)
    assert "Versions" not in html(shown) and "Edit draft" not in html(shown)


def test_editing_a_draft_saves_a_version_and_redirects(client_for, vpn_agent):
    article = draft(vpn_agent)
    client = client_for(vpn_agent)
    url = f"/knowledge/articles/{article.number}/edit/"
    form = client.get(url)
    assert form.status_code == 200 and 'name="version" value="1"' in html(form)
    response = client.post(
        url, {"title": "Reconnect", "body": "Restart it.", "note": "Shorter", "version": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/knowledge/articles/{article.number}/"
    shown = html(client.get(response["Location"]))
    assert "Reconnect" in shown and "Version 2" in shown and "Shorter" in shown
    assert ArticleVersion.objects.filter(article=article).count() == 2


def test_a_stale_or_blank_edit_is_400_with_nothing_changed(client_for, vpn_agent):
    article = draft(vpn_agent)
    actions.do_edit_draft(vpn_agent, article, title="Theirs", body="Their text", expected_version=1)
    client = client_for(vpn_agent)
    url = f"/knowledge/articles/{article.number}/edit/"
    stale = client.post(url, {"title": "Mine", "body": "My text", "version": "1"})
    assert stale.status_code == 400 and "Someone saved this article" in html(stale)
    blank = client.post(url, {"title": "", "body": "My text", "version": "2"})
    assert blank.status_code == 400
    found = Article.objects.get()
    assert (found.title, found.version) == ("Theirs", 2)


def test_the_live_help_room_offers_draft_an_article_to_the_desk(
    client_for, requester, vpn_agent, answered_conversation
):
    room_url = f"/chat/conversations/{answered_conversation.pk}/"
    action = f"/knowledge/drafts/from-conversation/{answered_conversation.pk}/"
    assert action not in html(client_for(requester).get(room_url))
    agent = client_for(vpn_agent)
    assert action in html(agent.get(room_url))
    assert client_for(requester).post(action).status_code == 403
    response = agent.post(action, follow=True)
    article = Article.objects.get()
    assert response.redirect_chain[-1][0] == f"/knowledge/articles/{article.number}/edit/"
    page = html(response)
    assert "is drafted" in page and "## Question" in page and "Fast reconnect" in page
    again = agent.post(action, follow=True)
    assert "drafted before" in html(again) and Article.objects.count() == 1


def test_chat_messages_offer_draft_an_article_to_staff(
    client_for, requester, vpn_agent, vpn_service
):
    vpn_room = chat_actions.service_room(vpn_service)
    for person in (requester, vpn_agent):
        chat_actions.do_join_room(person, vpn_room)
    message = chat_actions.do_send_message(requester, vpn_room, body="Reset via the portal").message
    action = f"/knowledge/drafts/from-message/{message.pk}/"
    assert action not in html(client_for(requester).get(f"/chat/rooms/{vpn_room.pk}/"))
    agent = client_for(vpn_agent)
    assert action in html(agent.get(f"/chat/rooms/{vpn_room.pk}/"))
    response = agent.post(action)
    assert response.status_code == 302
    assert Article.objects.get().contributor == requester
    assert agent.post("/knowledge/drafts/from-message/999999/").status_code == 404


def test_the_wall_thread_links_the_draft_of_its_accepted_answer(
    client_for, requester, make_person, vpn_agent, vpn_service
):
    helper = make_person("helper@example.test", roles=[Role.REQUESTER])
    question = wall_actions.do_post(requester, body="#vpn How do I reconnect?")
    questions.do_mark_question(requester, question)
    answer = wall_actions.do_post(helper, body="Restart the client.", reply_to=question)
    agent = client_for(vpn_agent)
    assert "Draft an article" not in html(agent.get(f"/wall/posts/{question.pk}/"))
    answers.do_accept_answer(requester, answer)
    article = Article.objects.get()
    page = html(agent.get(f"/wall/posts/{question.pk}/"))
    assert f"Article draft {article.number}" in page
    assert "Draft an article" not in page
    assert f"Article draft {article.number}" not in html(
        client_for(requester).get(f"/wall/posts/{question.pk}/")
    )
    # Without the proposed draft (no staff at the time), moderators are offered the button.
    article.delete()
    page = html(agent.get(f"/wall/posts/{question.pk}/"))
    assert f"/knowledge/drafts/from-answer/{answer.pk}/" in page
    assert agent.post(f"/knowledge/drafts/from-answer/{answer.pk}/").status_code == 302
    assert Article.objects.get().owner == vpn_agent
