"""Story 4 (part 2) of docs/PRODUCT end to end in Chromium: a problem manager records the root
cause and the workaround of a problem behind three VPN incidents and publishes the known error;
a requester who was affected is told; then another requester typing a matching post on the wall
sees the workaround before posting, posts anyway, and the post is answered with the workaround.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.incidents.actions import do_create_incident
from hashdesk.notify.models import Notification
from hashdesk.problems.actions import do_create_problem
from hashdesk.problems.models import Problem
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Post

pytestmark = pytest.mark.browser

WORKAROUND = "Connect with the wired network, or run vpn --keepalive 60 before connecting."


@pytest.fixture
def immediate_tasks() -> Iterator[None]:
    """The post's answer runs as a huey task after commit: in this process, at once."""
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = previous


def test_story_4_a_known_error_is_published_and_offered_on_the_wall(
    open_tab: Any,
    immediate_tasks: None,
    problem_manager: User,
    requester: User,
    make_person: Any,
    vpn_service: Any,
) -> None:
    affected = [requester] + [
        make_person(f"affected{n}@example.test", roles=[Role.REQUESTER]) for n in range(2)
    ]
    incidents = [
        do_create_incident(
            person,
            title=f"VPN drops every 10 minutes ({n})",
            description="The VPN disconnects every ten minutes on Wi-Fi.",
            service=vpn_service,
        )
        for n, person in enumerate(affected)
    ]
    problem = do_create_problem(
        problem_manager,
        title="VPN drops every 10 minutes on Wi-Fi",
        description="The VPN client disconnects every ten minutes on Wi-Fi.",
        incident_ids=[i.pk for i in incidents],
    )

    manager = open_tab()
    manager.sign_in(problem_manager)
    manager.open(f"/problems/{problem.pk}/")
    page = manager.page
    assert all(page.get_by_role("link", name=i.number or "").count() for i in incidents)
    page.get_by_label("Root cause").fill("The Wi-Fi controller drops idle VPN sessions.")
    page.get_by_label("Workaround").fill(WORKAROUND)
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"{problem.number} is saved.").wait_for()
    page.get_by_role("button", name="Publish the known error").click()
    page.get_by_text("The known error is published").wait_for()
    problem = Problem.objects.get(pk=problem.pk)
    article = problem.known_error_article
    assert article is not None and problem.state == "known_error"
    assert (
        page.locator("[data-known-error]")
        .get_by_role("link")
        .inner_text()
        .startswith(article.number or "")
    )
    # The page's own content fits (the shared navigation bar is the shell's business).
    assert page.evaluate(
        "Array.from(document.querySelectorAll('main *'))"
        ".every(e => e.getBoundingClientRect().right <= window.innerWidth)"
    )

    # Every affected requester is told, once.
    told = Notification.objects.filter(kind="known_error")
    assert sorted(n.recipient_id for n in told) == sorted(p.pk for p in affected)
    reader = open_tab()
    reader.sign_in(requester)
    reader.open("/notifications/")
    reader.page.get_by_role("link", name="Workaround for: VPN drops").first.wait_for()

    # Someone else types a matching post: the workaround shows before posting.
    colleague = make_person("colleague.wall@example.test", roles=[Role.REQUESTER])
    wall = open_tab()
    wall.sign_in(colleague)
    wall.open("/wall/")
    wall.page.get_by_label("What is going on?").fill("#vpn drops every 10 minutes on Wi-Fi")
    wall.page.get_by_text("vpn --keepalive 60").first.wait_for()
    # Posting anyway: the post is answered with the workaround and the article.
    wall.page.get_by_role("button", name="Post", exact=True).click()
    wall.page.wait_for_load_state("load")
    post = Post.objects.filter(author=colleague, reply_to__isnull=True).get()
    reply = Post.objects.get(reply_to=post, kind=PostKind.OFFICIAL)
    assert "vpn --keepalive 60" in reply.body and (article.number or "") in reply.body
    wall.open(f"/wall/posts/{post.pk}/")
    wall.page.get_by_text("This looks like a known problem").wait_for()
    assert manager.console_errors == [] and wall.console_errors == []
