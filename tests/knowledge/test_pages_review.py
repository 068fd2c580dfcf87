"""Knowledge pages of issue 8: the list for everyone, the review queue, the article's workflow
buttons, versions, diff, restore and feedback (docs/knowledge.md, "Pages")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.knowledge import actions, workflow
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleFeedback

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
    fields.setdefault("body", "Open the client.\nChoose Reconnect.")
    fields.setdefault("visibility", ArticleVisibility.PUBLIC)
    return actions.do_create_draft(actor, **fields).article


def live(author: User, reviewer: User, **fields: Any) -> Article:
    article = draft(author, **fields)
    workflow.do_submit(author, article, expected_version=1)
    return workflow.do_approve(reviewer, article, expected_version=1)


def test_the_list_shows_readers_published_public_articles_at_a_constant_query_count(
    client_for, requester, vpn_agent, problem_manager, vpn_service, sso_service, query_count
):
    live(vpn_agent, problem_manager, title="First how-to", services=[vpn_service])
    client = client_for(requester)
    client.get("/knowledge/")  # warm the session and navigation
    with query_count() as one:
        assert client.get("/knowledge/").status_code == 200
    for n in range(6):
        live(vpn_agent, problem_manager, title=f"How-to {n}", services=[vpn_service, sso_service])
    live(vpn_agent, problem_manager, title="Desk only", visibility=ArticleVisibility.INTERNAL)
    draft(vpn_agent, title="Unfinished draft")
    with query_count() as more:
        response = client.get("/knowledge/")
    assert len(more) == len(one)
    page = html(response)
    assert "First how-to" in page and "How-to 5" in page
    assert "Desk only" not in page and "Unfinished draft" not in page
    assert "Review queue" not in page
    assert "7 articles" in page


def test_title_service_and_stale_filters(
    client_for, requester, vpn_agent, problem_manager, vpn_service
):
    live(vpn_agent, problem_manager, title="VPN on Wi-Fi", services=[vpn_service])
    old = live(vpn_agent, problem_manager, title="Printing in colour")
    Article.objects.filter(pk=old.pk).update(review_due_at=timezone.now() - timedelta(days=3))
    client = client_for(requester)
    assert "Printing" not in html(client.get("/knowledge/?q=wi-fi"))
    by_service = html(client.get("/knowledge/?service=vpn"))
    assert "VPN on Wi-Fi" in by_service and "Printing" not in by_service
    stale = html(client.get("/knowledge/?stale=1"))
    assert "Printing in colour" in stale and "VPN on Wi-Fi" not in stale
    assert "Stale" in stale
    shown = html(client.get(f"/knowledge/articles/{old.number}/"))
    assert "<strong>Stale:</strong>" in shown


def test_staff_see_states_and_the_review_queue(client_for, vpn_agent, problem_manager):
    waiting = draft(vpn_agent, title="Waiting one")
    workflow.do_submit(vpn_agent, waiting, expected_version=1)
    revised = live(vpn_agent, problem_manager, title="Revised one")
    actions.do_edit_draft(vpn_agent, revised, title="Revised one", body="New", expected_version=1)
    live(vpn_agent, problem_manager, title="Settled one")
    client = client_for(vpn_agent)
    queue = html(client.get("/knowledge/review/"))
    assert "Waiting one" in queue and "Revised one" in queue and "Settled one" not in queue
    assert "A new version of a published article" in queue
    assert "Waiting one" in html(client.get("/knowledge/?state=review"))
    assert "Waiting one" not in html(client.get("/knowledge/"))


def test_submit_and_approve_from_the_article_page(client_for, vpn_agent, problem_manager):
    article = draft(vpn_agent)
    page = f"/knowledge/articles/{article.number}/"
    agent = client_for(vpn_agent)
    assert "Submit for review" in html(agent.get(page))
    response = agent.post(f"{page}submit/", {"version": 1})
    assert response.status_code == 302 and response["Location"] == page
    assert Article.objects.get().state == ArticleState.REVIEW
    shown = html(agent.get(page))
    assert "Approve and publish" not in shown  # agents do not review
    assert agent.post(f"{page}approve/", {"version": 1}).status_code == 403
    manager = client_for(problem_manager)
    assert "Approve and publish" in html(manager.get(page))
    manager.post(f"{page}approve/", {"version": 1, "visibility": "internal"})
    article.refresh_from_db()
    assert article.state == ArticleState.PUBLISHED
    assert article.visibility == ArticleVisibility.INTERNAL
    # A stale button is a message, not an error page.
    response = manager.post(f"{page}retire/", {"version": 9}, follow=True)
    assert "Someone saved this article" in html(response)
    manager.post(f"{page}retire/", {"version": 1})
    assert Article.objects.get().state == ArticleState.RETIRED


def test_send_back_without_a_comment_re_renders_with_the_error(
    client_for, vpn_agent, problem_manager
):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    client = client_for(problem_manager)
    page = f"/knowledge/articles/{article.number}/"
    response = client.post(f"{page}send-back/", {"version": 1, "comment": ""})
    assert response.status_code == 400
    assert Article.objects.get().state == ArticleState.REVIEW
    client.post(f"{page}send-back/", {"version": 1, "comment": "Needs a screenshot."})
    assert Article.objects.get().state == ArticleState.DRAFT
    assert "Needs a screenshot." in html(client_for(vpn_agent).get(page))


def test_editing_a_published_article_in_the_browser_goes_to_review(
    client_for, vpn_agent, problem_manager, requester
):
    article = live(vpn_agent, problem_manager)
    client = client_for(vpn_agent)
    form = html(client.get(f"/knowledge/articles/{article.number}/edit/"))
    assert "waits for review" in form and "Save for review" in form
    response = client.post(
        f"/knowledge/articles/{article.number}/edit/",
        {"title": article.title, "body": "Brand new steps.", "note": "", "version": 1},
        follow=True,
    )
    assert "waits for review" in html(response)
    assert "Brand new steps." not in html(
        client_for(requester).get(f"/knowledge/articles/{article.number}/")
    )
    # The edit form starts from the waiting version.
    assert "Brand new steps." in html(client.get(f"/knowledge/articles/{article.number}/edit/"))


def test_versions_diff_and_restore_in_the_browser(client_for, vpn_agent, requester):
    article = draft(vpn_agent)
    actions.do_edit_draft(
        vpn_agent,
        article,
        title="Reconnecting",
        body="Open the client.\nChoose Connect.",
        expected_version=1,
    )
    client = client_for(vpn_agent)
    page = html(client.get(f"/knowledge/articles/{article.number}/"))
    assert f"/knowledge/articles/{article.number}/diff/?from=1&amp;to=2" in page
    assert f"/knowledge/articles/{article.number}/restore/1/" in page
    diff = html(client.get(f"/knowledge/articles/{article.number}/diff/?from=1&to=2"))
    assert (
        '<ins><span aria-hidden="true">+ </span><span class="visually-hidden">Added: </span>'
        "Choose Connect.</ins>" in diff
    )
    assert '<span class="visually-hidden">Removed: </span>Choose Reconnect.</del>' in diff
    assert client.get(f"/knowledge/articles/{article.number}/diff/?from=1&to=8").status_code == 404
    assert (
        client_for(requester).get(f"/knowledge/articles/{article.number}/diff/").status_code == 403
    )
    client.post(f"/knowledge/articles/{article.number}/restore/1/", {"version": 2})
    assert (
        Article.objects.get().version == 3 and Article.objects.get().title == "Reconnecting the VPN"
    )
    # A missing version is a message; nothing changes.
    response = client.post(
        f"/knowledge/articles/{article.number}/restore/9/", {"version": 3}, follow=True
    )
    assert "has no version 9" in html(response) and Article.objects.get().version == 3


def test_feedback_from_a_reader_and_comments_for_the_desk(
    client_for, requester, vpn_agent, problem_manager
):
    article = live(vpn_agent, problem_manager)
    page = f"/knowledge/articles/{article.number}/"
    reader = client_for(requester)
    assert "Was this helpful?" in html(reader.get(page))
    reader.post(f"{page}feedback/", {"helpful": "no", "comment": "Step 2 fails"})
    response = reader.post(
        f"{page}feedback/", {"helpful": "yes", "comment": "Now it works"}, follow=True
    )
    assert "Your feedback is updated." in html(response)
    assert ArticleFeedback.objects.count() == 1 and ArticleFeedback.objects.get().helpful
    shown = html(reader.get(page))
    assert "1 found it helpful · 0 did not" in shown
    assert "Comments (service desk only)" not in shown
    desk = html(client_for(vpn_agent).get(page))
    assert "Comments (service desk only)" in desk and "Now it works" in desk
    bad = reader.post(f"{page}feedback/", {"helpful": "maybe"})
    assert bad.status_code == 400
