"""Who sees which post: public, team, held, hidden, deleted, confidential incident and
confidential service, for the author, a team member, someone else, staff and anonymous."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from hashdesk.catalog.choices import Visibility
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import can_view, visible_to
from hashdesk.incidents import actions as incident_actions
from hashdesk.wall import actions
from hashdesk.wall.choices import PostVisibility, ReactionKind, WatchedWordAction
from hashdesk.wall.models import Post

# Who sees each kind of post: author, team member (not the author), other, staff, anonymous.
MATRIX = {
    "public": (True, True, True, True, False),
    "team": (True, True, False, True, False),
    "held": (True, False, False, True, False),
    "hidden": (False, False, False, True, False),
    "deleted": (False, False, False, True, False),
    "confidential_incident": (False, False, False, True, False),
    "confidential_service": (False, False, False, True, False),
}


@pytest.fixture
def people(requester, other_requester, make_person, finance_team, vpn_agent):
    from hashdesk.accounts import actions as account_actions

    member = make_person("teammate@example.test")
    account_actions.do_add_team_member(None, finance_team, member)
    return {
        "author": requester,
        "member": member,
        "other": other_requester,
        "staff": vpn_agent,
        "anonymous": AnonymousUser(),
    }


def _make(kind, requester, vpn_agent, finance_team, security_service, vpn_service):
    if kind == "public":
        return actions.do_post(requester, body="hello")
    if kind == "team":
        return actions.do_post(
            requester, body="hello", visibility=PostVisibility.TEAM, team=finance_team
        )
    if kind == "held":
        actions.do_add_watched_word(vpn_agent, "strike", WatchedWordAction.HOLD)
        return actions.do_post(requester, body="strike today")
    if kind == "hidden":
        post = actions.do_post(requester, body="rude")
        return actions.do_hide_post(vpn_agent, post, "Not kind")
    if kind == "deleted":
        post = actions.do_post(requester, body="oops")
        return actions.do_delete_post(requester, post)
    if kind == "confidential_incident":
        post = actions.do_post(requester, body="#vpn is down")
        incident = actions.do_promote_to_incident(
            vpn_agent, [post], title="VPN down", service=vpn_service
        )
        incident_actions.do_update_incident(
            vpn_agent,
            incident,
            expected_version=incident.version,
            visibility=Visibility.CONFIDENTIAL,
        )
        return post
    if kind == "confidential_service":
        post = actions.do_post(vpn_agent, body="#secops drill tonight")
        assert post.service == security_service
        return post
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", list(MATRIX))
def test_visibility_matrix(
    kind, people, requester, vpn_agent, finance_team, security_service, vpn_service
):
    post = _make(kind, requester, vpn_agent, finance_team, security_service, vpn_service)
    post = Post.objects.get(pk=post.pk)
    if kind == "confidential_service":
        # Written by staff, so the "author" column here is the requester seeing it.
        expected = dict(zip(people, MATRIX[kind], strict=True))
        expected["author"] = False
    else:
        expected = dict(zip(people, MATRIX[kind], strict=True))
    seen = {name: can_view(person, post) for name, person in people.items()}
    assert seen == expected
    listed = {
        name: visible_to(person, Post.objects.filter(pk=post.pk)).exists()
        for name, person in people.items()
    }
    assert listed == expected


def test_reacting_to_an_invisible_post_is_not_found_not_forbidden(
    requester, other_requester, finance_team
):
    post = actions.do_post(
        requester, body="team only", visibility=PostVisibility.TEAM, team=finance_team
    )
    with pytest.raises(NotFound):
        actions.do_react(other_requester, post, ReactionKind.LIKE)
    with pytest.raises(NotFound):
        actions.do_report_post(other_requester, post, "spam")
