"""The knowledge API of issue 8: filters, the review workflow, versions, diff, restore and
feedback, with problem details for bad input (docs/api.md, "Knowledge")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.knowledge import actions, workflow
from hashdesk.knowledge.choices import ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleFeedback
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/knowledge/articles"


def caller(person: User) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


def draft(actor: User, **fields: Any) -> Article:
    fields.setdefault("title", "Reconnecting the VPN")
    fields.setdefault("body", "Open the client.\nChoose Reconnect.")
    fields.setdefault("visibility", ArticleVisibility.PUBLIC)
    return actions.do_create_draft(actor, **fields).article


def test_submit_approve_and_retire_through_the_api(vpn_agent, problem_manager, requester):
    article = draft(vpn_agent)
    agent, manager = caller(vpn_agent), caller(problem_manager)
    at = f"{URL}/{article.number}"
    response = agent.post(f"{at}/submit", {"expected_version": 1})
    assert response.status_code == 200 and response.json()["state"] == "review"
    assert_problem(agent.post(f"{at}/approve", {"expected_version": 1}), 403)
    assert_problem(manager.post(f"{at}/approve", {"expected_version": 5}), 409)
    response = manager.post(f"{at}/approve", {"expected_version": 1, "visibility": "public"})
    body = response.json()
    assert response.status_code == 200 and body["state"] == "published"
    assert body["review_due_at"] and body["stale"] is False and body["published_version"] == 1
    assert caller(requester).get(at).json()["title"] == "Reconnecting the VPN"
    assert_problem(manager.post(f"{at}/submit", {"expected_version": 1}), 409)
    response = manager.post(f"{at}/retire", {"expected_version": 1})
    assert response.json()["state"] == "retired"
    assert_problem(caller(requester).get(at), 404)


def test_send_back_needs_a_comment(vpn_agent, problem_manager):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    manager = caller(problem_manager)
    at = f"{URL}/{article.number}/send-back"
    assert_problem(manager.post(at, {"expected_version": 1, "comment": ""}), 422)
    response = manager.post(at, {"expected_version": 1, "comment": "Add the gateway name."})
    assert response.json()["state"] == "draft"
    assert response.json()["review_comment"] == "Add the gateway name."


def test_editing_a_published_article_goes_to_review_and_requesters_are_refused(
    vpn_agent, problem_manager, requester
):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    workflow.do_approve(problem_manager, article, expected_version=1)
    at = f"{URL}/{article.number}"
    assert_problem(caller(requester).patch(at, {"body": "Mine", "expected_version": 1}), 403)
    response = caller(vpn_agent).patch(at, {"body": "New text.", "expected_version": 1})
    body = response.json()
    assert response.status_code == 200 and body["revision_pending"] is True
    assert body["version"] == 2 and body["body"].startswith("Open the client.")
    # A stale version is 409 and changes nothing.
    stale = caller(vpn_agent).patch(at, {"body": "Other.", "expected_version": 1})
    assert assert_problem(stale, 409)["current_version"] == 2
    # Oversized text is refused before anything is read.
    assert_problem(caller(vpn_agent).patch(at, {"body": "x" * 50_001, "expected_version": 2}), 422)
    assert Article.objects.get().version == 2


def test_versions_diff_and_restore(vpn_agent, requester):
    article = draft(vpn_agent)
    actions.do_edit_draft(
        vpn_agent, article, title="T", body="Open the client.\nChoose Connect.", expected_version=1
    )
    agent = caller(vpn_agent)
    at = f"{URL}/{article.number}"
    versions = agent.get(f"{at}/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert_problem(caller(requester).get(f"{at}/versions"), 404)  # cannot see the draft at all
    diff = agent.get(f"{at}/diff?from=1&to=2").json()
    assert (diff["added"], diff["removed"]) == (1, 1)
    assert {"op": "added", "text": "Choose Connect."} in diff["lines"]
    assert_problem(agent.get(f"{at}/diff?from=1&to=7"), 404)
    assert_problem(agent.post(f"{at}/restore", {"version": 9, "expected_version": 2}), 404)
    assert_problem(agent.post(f"{at}/restore", {"version": 1, "expected_version": 1}), 409)
    response = agent.post(f"{at}/restore", {"version": 1, "expected_version": 2})
    assert response.json()["version"] == 3 and response.json()["title"] == "Reconnecting the VPN"


def test_requesters_may_not_read_versions_of_published_articles(
    vpn_agent, problem_manager, requester
):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    workflow.do_approve(problem_manager, article, expected_version=1)
    at = f"{URL}/{article.number}"
    assert_problem(caller(requester).get(f"{at}/versions"), 403)
    assert_problem(caller(requester).get(f"{at}/diff?from=1&to=1"), 403)
    assert_problem(
        caller(requester).post(f"{at}/restore", {"version": 1, "expected_version": 1}), 403
    )


def test_feedback_twice_updates_and_comments_are_the_desks(
    vpn_agent, problem_manager, requester, make_person
):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    workflow.do_approve(problem_manager, article, expected_version=1)
    at = f"{URL}/{article.number}/feedback"
    reader = caller(requester)
    first = reader.request("PUT", at, {"helpful": False, "comment": "Step 2 fails for me"})
    assert first.status_code == 201 and first.json()["helpful"] is False
    again = reader.request("PUT", at, {"helpful": True, "comment": ""})
    assert again.status_code == 200 and again.json()["helpful"] is True
    assert ArticleFeedback.objects.count() == 1
    other = make_person("other@example.test", roles=["requester"])
    caller(other).request("PUT", at, {"helpful": False, "comment": "Too short"})
    mine = reader.get(at).json()
    assert (mine["helpful_count"], mine["not_helpful_count"]) == (1, 1)
    assert [item["person"]["id"] for item in mine["items"]] == [requester.pk]
    desk = caller(vpn_agent).get(at).json()
    assert {item["comment"] for item in desk["items"]} == {"", "Too short"}
    shown = reader.get(f"{URL}/{article.number}").json()
    assert (shown["helpful_count"], shown["not_helpful_count"]) == (1, 1)
    assert_problem(reader.request("PUT", at, {"helpful": True, "comment": "x" * 1001}), 422)


def test_list_filters_by_title_service_and_staleness(vpn_agent, problem_manager, vpn_service):
    def live(title: str, **fields: Any) -> Article:
        article = draft(vpn_agent, title=title, **fields)
        workflow.do_submit(vpn_agent, article, expected_version=1)
        return workflow.do_approve(problem_manager, article, expected_version=1)

    vpn = live("VPN on Wi-Fi", services=[vpn_service])
    old = live("Printing in colour")
    draft(vpn_agent, title="A draft about printing")
    Article.objects.filter(pk=old.pk).update(review_due_at=timezone.now() - timedelta(days=1))
    api = caller(vpn_agent)

    def numbers(query: str) -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [item["number"] for item in response.json()["items"]]

    assert numbers("q=printing&state=published") == [old.number]
    assert numbers("service=vpn") == [vpn.number]
    assert numbers("stale=true") == [old.number]
    assert len(numbers("q=printing")) == 2
    assert api.get(f"{URL}?stale=true").json()["items"][0]["stale"] is True
