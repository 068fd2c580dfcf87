"""The review workflow, versions (diff and restore), feedback and review dates of knowledge
articles (docs/knowledge.md, "Review", "Versions", "Feedback", "Review dates")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_review_articles, can_view, visible_to
from hashdesk.knowledge import actions, workflow
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleFeedback, ArticleVersion
from hashdesk.notify.models import Notification

pytestmark = pytest.mark.django_db


def draft(actor: User, **fields: Any) -> Article:
    fields.setdefault("title", "Reconnecting the VPN")
    fields.setdefault("body", "Open the client.\nChoose Reconnect.\nSign in.")
    fields.setdefault("visibility", ArticleVisibility.PUBLIC)
    return actions.do_create_draft(actor, **fields).article


def published(author: User, reviewer: User, **fields: Any) -> Article:
    article = draft(author, **fields)
    workflow.do_submit(author, article, expected_version=article.version)
    return workflow.do_approve(reviewer, article, expected_version=article.version)


def ops(events: list[Any]) -> list[str]:
    return [e.op for e in events if e.type == "knowledge_article"]


# --- Who reviews ----------------------------------------------------------------------------------


def test_reviewers_are_problem_managers_and_administrators(
    requester, vpn_agent, problem_manager, change_manager, administrator
):
    assert can_review_articles(problem_manager) and can_review_articles(administrator)
    assert not can_review_articles(vpn_agent) and not can_review_articles(change_manager)
    assert not can_review_articles(requester) and not can_review_articles(AnonymousUser())


# --- draft → review → published → retired ------------------------------------------------------


def test_the_whole_workflow_with_audit_and_events(
    vpn_agent, problem_manager, capture_events, settings
):
    settings.KNOWLEDGE_REVIEW_DAYS = 30
    article = draft(vpn_agent)
    with capture_events() as events:
        workflow.do_submit(vpn_agent, article, expected_version=1)
        article.refresh_from_db()
        assert article.state == ArticleState.REVIEW
        approved = workflow.do_approve(
            problem_manager, article, expected_version=1, visibility=ArticleVisibility.INTERNAL
        )
        assert approved.state == ArticleState.PUBLISHED
        assert approved.visibility == ArticleVisibility.INTERNAL
        assert approved.published_version == 1 and approved.published_at is not None
        assert approved.review_due_at == approved.published_at + timedelta(days=30)
        retired = workflow.do_retire(problem_manager, approved, expected_version=1)
        assert retired.state == ArticleState.RETIRED
    assert ops(events) == ["submitted", "published", "retired"]
    assert all(e.streams == ["staff"] for e in events if e.type == "knowledge_article")
    assert list(
        AuditEntry.objects.filter(action__startswith="knowledge.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["knowledge.draft", "knowledge.submit", "knowledge.approve", "knowledge.retire"]


def test_agents_submit_but_do_not_approve_send_back_or_retire(vpn_agent, requester):
    article = draft(vpn_agent)
    with pytest.raises(Forbidden):
        workflow.do_submit(requester, article, expected_version=1)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    for refused in (
        lambda: workflow.do_approve(vpn_agent, article, expected_version=1),
        lambda: workflow.do_send_back(vpn_agent, article, expected_version=1, comment="No"),
        lambda: workflow.do_retire(vpn_agent, article, expected_version=1),
        lambda: workflow.do_approve(requester, article, expected_version=1),
    ):
        with pytest.raises(Forbidden):
            refused()
    assert Article.objects.get().state == ArticleState.REVIEW


def test_wrong_states_and_stale_versions_are_conflicts(vpn_agent, problem_manager):
    article = draft(vpn_agent)
    with pytest.raises(Conflict):
        workflow.do_approve(problem_manager, article, expected_version=1)  # not in review
    with pytest.raises(Conflict):
        workflow.do_retire(problem_manager, article, expected_version=1)  # not published
    with pytest.raises(Conflict) as stale:
        workflow.do_submit(vpn_agent, article, expected_version=7)
    assert stale.value.extra["current_version"] == 1
    workflow.do_submit(vpn_agent, article, expected_version=1)
    with pytest.raises(Conflict):
        workflow.do_submit(vpn_agent, article, expected_version=1)  # already in review
    assert Article.objects.get().state == ArticleState.REVIEW


def test_sending_back_needs_a_comment_and_makes_a_draft_again(vpn_agent, problem_manager):
    article = draft(vpn_agent)
    workflow.do_submit(vpn_agent, article, expected_version=1)
    with pytest.raises(ValidationFailed):
        workflow.do_send_back(problem_manager, article, expected_version=1, comment="  ")
    with pytest.raises(ValidationFailed):
        workflow.do_send_back(problem_manager, article, expected_version=1, comment="x" * 1001)
    back = workflow.do_send_back(
        problem_manager, article, expected_version=1, comment="Add a screenshot, please."
    )
    assert back.state == ArticleState.DRAFT and back.review_comment == "Add a screenshot, please."


# --- Editing a published article goes to review ------------------------------------------------


def test_editing_a_published_article_waits_for_review_and_readers_keep_the_text(
    vpn_agent, problem_manager, requester
):
    article = published(vpn_agent, problem_manager)
    saved = actions.do_edit_draft(
        vpn_agent, article, title="Reconnecting the VPN", body="New steps.", expected_version=1
    )
    assert saved.in_review and saved.article.version == 2
    shown = Article.objects.get()
    assert shown.state == ArticleState.PUBLISHED and shown.revision_pending
    assert shown.body.startswith("Open the client.")  # what readers still see
    assert can_view(requester, shown)
    assert actions.head_text(shown) == ("Reconnecting the VPN", "New steps.")
    # Another edit on top of the waiting one needs the newest version.
    with pytest.raises(Conflict):
        actions.do_edit_draft(vpn_agent, shown, title="T", body="B", expected_version=1)
    approved = workflow.do_approve(problem_manager, shown, expected_version=2)
    assert approved.body == "New steps." and approved.published_version == 2
    assert not approved.revision_pending


def test_sending_back_a_revision_keeps_the_published_text(vpn_agent, problem_manager):
    article = published(vpn_agent, problem_manager)
    actions.do_edit_draft(vpn_agent, article, title="T", body="Wrong.", expected_version=1)
    back = workflow.do_send_back(
        problem_manager, article, expected_version=2, comment="Not accurate."
    )
    assert back.state == ArticleState.PUBLISHED and not back.revision_pending
    assert back.body.startswith("Open the client.") and back.version == 2
    with pytest.raises(Conflict):
        workflow.do_approve(problem_manager, back, expected_version=2)  # nothing waits


# --- Versions: diff and restore ----------------------------------------------------------------


def test_the_diff_of_two_versions(vpn_agent):
    article = draft(vpn_agent)
    actions.do_edit_draft(
        vpn_agent,
        article,
        title="Reconnecting the VPN client",
        body="Open the client.\nChoose Connect.\nSign in.\nDone.",
        expected_version=1,
    )
    difference = workflow.diff_versions(article, 1, 2)
    assert difference.title_changed
    assert (difference.added, difference.removed) == (2, 1)
    assert [(line.op, line.text) for line in difference.lines] == [
        ("same", "Open the client."),
        ("removed", "Choose Reconnect."),
        ("added", "Choose Connect."),
        ("same", "Sign in."),
        ("added", "Done."),
    ]
    with pytest.raises(NotFound):
        workflow.diff_versions(article, 1, 9)


def test_restore_makes_a_new_version_equal_to_an_old_one(vpn_agent, capture_events):
    article = draft(vpn_agent)
    actions.do_edit_draft(vpn_agent, article, title="Other", body="Other.", expected_version=1)
    with capture_events() as events:
        restored, in_review = workflow.do_restore(vpn_agent, article, version=1, expected_version=2)
    assert not in_review and restored.version == 3
    assert (restored.title, restored.body) == ("Reconnecting the VPN", article.body)
    assert ArticleVersion.objects.get(article=article, version=3).note == "Restored version 1"
    assert AuditEntry.objects.filter(action="knowledge.restore").count() == 1
    assert ops(events) == ["edited"]


def test_restore_refuses_missing_versions_stale_versions_and_requesters(
    vpn_agent, requester, problem_manager
):
    article = draft(vpn_agent)
    actions.do_edit_draft(vpn_agent, article, title="Other", body="Other.", expected_version=1)
    with pytest.raises(NotFound):
        workflow.do_restore(vpn_agent, article, version=9, expected_version=2)
    with pytest.raises(Conflict):
        workflow.do_restore(vpn_agent, article, version=1, expected_version=1)
    with pytest.raises(Conflict):
        workflow.do_restore(vpn_agent, article, version=2, expected_version=2)  # same text
    with pytest.raises(Forbidden):
        workflow.do_restore(requester, article, version=1, expected_version=2)
    assert Article.objects.get().version == 2 and ArticleVersion.objects.count() == 2


def test_restoring_on_a_published_article_goes_to_review(vpn_agent, problem_manager):
    article = published(vpn_agent, problem_manager)
    actions.do_edit_draft(vpn_agent, article, title="T", body="B", expected_version=1)
    workflow.do_approve(problem_manager, article, expected_version=2)
    restored, in_review = workflow.do_restore(vpn_agent, article, version=1, expected_version=2)
    assert in_review and restored.body == "B" and restored.revision_pending


# --- Oversized text ----------------------------------------------------------------------------


def test_oversized_text_is_refused_and_nothing_changes(vpn_agent):
    article = draft(vpn_agent)
    with pytest.raises(ValidationFailed):
        actions.do_edit_draft(vpn_agent, article, title="T", body="x" * 50_001, expected_version=1)
    with pytest.raises(ValidationFailed):
        actions.do_edit_draft(vpn_agent, article, title="T" * 201, body="B", expected_version=1)
    assert Article.objects.get().version == 1 and ArticleVersion.objects.count() == 1


# --- Feedback -----------------------------------------------------------------------------------


def test_feedback_once_per_person_giving_it_again_changes_it(vpn_agent, problem_manager, requester):
    article = published(vpn_agent, problem_manager)
    first = workflow.do_give_feedback(requester, article, helpful=False, comment="Step 2 fails")
    assert first.created
    again = workflow.do_give_feedback(requester, article, helpful=True, comment="")
    assert not again.created and ArticleFeedback.objects.count() == 1
    assert ArticleFeedback.objects.get().helpful is True
    workflow.do_give_feedback(vpn_agent, article, helpful=False)
    assert workflow.feedback_counts(article) == (1, 1)
    assert AuditEntry.objects.filter(action="knowledge.feedback").count() == 3


def test_feedback_refused_on_drafts_long_comments_and_anonymous(vpn_agent, problem_manager):
    article = draft(vpn_agent)
    with pytest.raises(Conflict):
        workflow.do_give_feedback(vpn_agent, article, helpful=True)
    live = published(vpn_agent, problem_manager, title="Other")
    with pytest.raises(ValidationFailed):
        workflow.do_give_feedback(vpn_agent, live, helpful=True, comment="x" * 1001)
    with pytest.raises(Forbidden):
        workflow.do_give_feedback(AnonymousUser(), live, helpful=True)  # type: ignore[arg-type]
    assert not ArticleFeedback.objects.exists()


def test_requesters_cannot_rate_what_they_cannot_read(vpn_agent, problem_manager, requester):
    article = published(vpn_agent, problem_manager, visibility=ArticleVisibility.INTERNAL)
    with pytest.raises(NotFound):
        workflow.do_give_feedback(requester, article, helpful=True)


# --- Visibility matrix: articles, versions, feedback --------------------------------------------


@pytest.mark.parametrize("state", list(ArticleState))
@pytest.mark.parametrize("visibility", list(ArticleVisibility))
def test_visibility_matrix_of_articles_versions_and_feedback(
    requester, vpn_agent, make_person, state, visibility
):
    other = make_person("other@example.test", roles=["requester"])
    article = draft(vpn_agent, visibility=visibility)
    Article.objects.filter(pk=article.pk).update(state=state)
    ArticleFeedback.objects.create(article=article, person=requester, helpful=True)
    ArticleFeedback.objects.create(article=article, person=other, helpful=False, comment="Hm")
    readable = state == ArticleState.PUBLISHED and visibility == ArticleVisibility.PUBLIC
    assert visible_to(requester, Article.objects.all()).exists() is readable
    assert visible_to(vpn_agent, Article.objects.all()).exists()
    assert not visible_to(AnonymousUser(), Article.objects.all()).exists()
    assert not visible_to(requester, ArticleVersion.objects.all()).exists()
    assert visible_to(vpn_agent, ArticleVersion.objects.all()).exists()
    # Feedback: staff read everyone's; a requester their own; anonymous nobody's.
    assert visible_to(vpn_agent, ArticleFeedback.objects.all()).count() == 2
    assert list(
        visible_to(requester, ArticleFeedback.objects.all()).values_list("person", flat=True)
    ) == [requester.pk]
    assert not visible_to(AnonymousUser(), ArticleFeedback.objects.all()).exists()


# --- Review dates -------------------------------------------------------------------------------


def test_stale_articles_and_the_daily_notice_to_owners(vpn_agent, problem_manager):
    fresh = published(vpn_agent, problem_manager, title="Fresh")
    due = [published(vpn_agent, problem_manager, title=f"Old {n}") for n in range(2)]
    mine = published(problem_manager, problem_manager, title="Managers own")
    past = timezone.now() - timedelta(days=1)
    Article.objects.filter(pk__in=[a.pk for a in [*due, mine]]).update(review_due_at=past)
    stale = set(Article.objects.filter(workflow.stale_condition()).values_list("pk", flat=True))
    assert stale == {a.pk for a in [*due, mine]}
    assert Article.objects.get(pk=due[0].pk).is_stale and not fresh.is_stale
    assert workflow.notify_due_reviews() == 3
    notices = {n.recipient_id: n for n in Notification.objects.filter(kind="knowledge.review_due")}
    assert set(notices) == {vpn_agent.pk, problem_manager.pk}
    assert notices[vpn_agent.pk].title == "2 of your articles are due for review"
    assert notices[problem_manager.pk].title == f"{mine.number} is due for review"
    # Once per review date: the next day tells nobody again ...
    assert workflow.notify_due_reviews(timezone.now() + timedelta(days=1)) == 0
    # ... until it is approved again and its new date passes.
    article = Article.objects.get(pk=mine.pk)
    actions.do_edit_draft(problem_manager, article, title="T", body="B", expected_version=1)
    workflow.do_approve(problem_manager, article, expected_version=2)
    # (The fresh one is due by then too; the two old ones were told about their date.)
    later = timezone.now() + timedelta(days=400)
    assert workflow.notify_due_reviews(later) == 2
    told = Article.objects.filter(review_notified_at=later).values_list("pk", flat=True)
    assert set(told) == {fresh.pk, mine.pk}
