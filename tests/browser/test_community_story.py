"""Story 7 of docs/PRODUCT end to end in Chromium (issue 8): a requester asks a question on the
wall, a colleague answers, others vote, the asker accepts; the answer is proposed as an article
draft and, matching an open problem, as its workaround; once verified, the helper's profile
shows the reputation and a badge, and the department leaderboard lists them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.knowledge.choices import ArticleOrigin
from hashdesk.knowledge.models import Article
from hashdesk.problems.models import Problem
from hashdesk.wall import actions, reputation
from hashdesk.wall.models import Post, WorkaroundProposal

pytestmark = pytest.mark.browser


def test_story_7_a_question_answered_voted_accepted_and_counted(
    open_tab: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    problem_manager: User,
    make_person: Any,
    vpn_service: Any,
    settings: Any,
) -> None:
    with transaction.atomic():
        problem = Problem.objects.create(
            title="VPN tunnel drops with error 809 after the client update",
            description="The VPN client drops the tunnel with error 809 since the update",
            created_by=problem_manager,
            owner=problem_manager,
            number="PRB-809",
        )
        problem.services.add(vpn_service)

    # The requester asks, ticking "This is a question".
    asker = open_tab()
    asker.sign_in(requester)
    asker.open("/wall/")
    asker.page.get_by_label("What is going on?").fill(
        "#vpn My VPN tunnel drops with error 809 since the update, what can I do?"
    )
    asker.page.get_by_label("This is a question").check()
    asker.page.get_by_role("button", name="Post", exact=True).click()
    asker.page.get_by_text("Your post is on the wall.").wait_for()
    question = Post.objects.get(author=requester)
    assert question.is_question

    # A colleague (Sales) answers; a third person finds the answer helpful and votes.
    with transaction.atomic():
        answer = actions.do_post(
            other_requester,
            body="Error 809: switch the VPN client to the TCP profile, then reconnect.",
            reply_to=question,
        )
    # The asker watches the conversation: the vote arrives live.
    asker.open(f"/wall/posts/{question.pk}/")
    asker.wait_until_live()
    voter = open_tab()
    voter.sign_in(make_person("voter@example.test", roles=[Role.REQUESTER]))
    voter.open(f"/wall/posts/{question.pk}/")
    voter.page.get_by_role(
        "button", name=f"Helpful answer by {other_requester.display_name}"
    ).click()
    votes = voter.page.locator(f"[data-post-id='{answer.pk}'] [data-count='votes']")
    votes.filter(has_text="1").wait_for()

    live = asker.page.locator(f"[data-post-id='{answer.pk}'] [data-count='votes']")
    live.filter(has_text="1").wait_for()

    # The asker accepts it.
    asker.page.get_by_role(
        "button", name=f"Accept as answer (reply by {other_requester.display_name})"
    ).click()
    asker.page.locator(f"[data-post-id='{answer.pk}']").get_by_text("Accepted answer").wait_for()

    # Proposed as an article draft (staff see it) and as the problem's workaround.
    article = Article.objects.get(origin=ArticleOrigin.WALL_ANSWER, origin_id=answer.pk)
    assert WorkaroundProposal.objects.filter(problem=problem, answer=answer).exists()
    agent = open_tab()
    agent.sign_in(vpn_agent)
    agent.open("/knowledge/drafts/")
    agent.page.get_by_text(article.number).first.wait_for()
    manager = open_tab()
    manager.sign_in(problem_manager)
    manager.open(f"/problems/{problem.pk}/")
    proposals = manager.page.locator("[data-proposed-workarounds]")
    proposals.get_by_text("switch the VPN client to the TCP profile").wait_for()

    # Nobody raised a ticket in the window: the reputation is confirmed, with a badge.
    later = timezone.now() + settings.WALL_DEFLECTION_WINDOW + timezone.timedelta(minutes=1)
    assert reputation.verify_due_awards(later) == 1
    asker.open(f"/wall/people/{other_requester.pk}/")
    asker.page.get_by_text("15 reputation · 1 answer that prevented a ticket").wait_for()
    asker.page.get_by_label("Badges").get_by_text("First ticket prevented").wait_for()

    # The Sales leaderboard lists the helper; Finance's does not.
    asker.open("/wall/leaderboard/?department=Sales")
    asker.page.locator(f"[data-leader='{other_requester.pk}']").wait_for()
    asker.open("/wall/leaderboard/?department=Finance")
    asker.page.get_by_text("No verified help in this department yet.").wait_for()
    for tab in (asker, voter, agent, manager):
        assert tab.console_errors == []
