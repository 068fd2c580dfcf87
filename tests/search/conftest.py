"""Shared data for the search tests: one item of every kind about the same VPN trouble, some
that requesters may not see. Records reach the index when their transaction commits:
``committed()`` runs those callbacks inside the test's own (never committed) transaction."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import TestCase

from hashdesk.catalog.choices import Visibility
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from hashdesk.insights import similar
from hashdesk.knowledge.actions import publish_known_error_article
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article
from hashdesk.problems.models import Problem
from hashdesk.search import synonyms, vocabulary
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.choices import PostVisibility

committed = partial(TestCase.captureOnCommitCallbacks, execute=True)


@pytest.fixture(autouse=True)
def _fresh_caches():
    similar.forget_statistics()
    vocabulary.forget()
    synonyms.forget()
    yield
    similar.forget_statistics()
    vocabulary.forget()
    synonyms.forget()


def make_incident(actor, service, title, visibility=Visibility.PUBLIC, description=""):
    with committed():
        incident = incident_actions.do_create_incident(
            actor, title=title, description=description, service=service
        )
    # Visibility is not indexed: set directly (the default is internal).
    Incident.objects.filter(pk=incident.pk).update(visibility=visibility)
    incident.refresh_from_db()
    return incident


def make_article(owner, title, body, number, visibility=ArticleVisibility.PUBLIC, services=()):
    with committed():
        article = Article.objects.create(
            title=title,
            body=body,
            number=number,
            owner=owner,
            state=ArticleState.PUBLISHED,
            visibility=visibility,
        )
        for service in services:
            article.services.add(service)
    return article


@pytest.fixture
def world(requester, other_requester, vpn_agent, problem_manager, vpn_service, network_team):
    public = make_incident(
        other_requester, vpn_service, "VPN tunnel drops with error 809", description="Since Monday"
    )
    confidential = make_incident(
        vpn_agent, vpn_service, "VPN tunnel drops for the board, error 809", "confidential"
    )
    with committed():
        problem = Problem.objects.create(
            title="VPN tunnel drops: gateway 809 timeout",
            description="Tunnel drops every ten minutes",
            workaround="Reconnect with the TCP profile",
            created_by=problem_manager,
        )
        problem.services.add(vpn_service)
        known_article = publish_known_error_article(
            problem_manager,
            None,
            title="Known error: VPN tunnel drops with error 809",
            body="Workaround: reconnect with the TCP profile",
            services=[vpn_service],
        )
        problem.known_error_article = known_article
        problem.save()
    internal = make_article(
        vpn_agent,
        "VPN tunnel drops: gateway runbook for error 809",
        "Restart the tunnel daemon",
        "KB-900001",
        ArticleVisibility.INTERNAL,
    )
    public_article = make_article(
        vpn_agent,
        "VPN tunnel drops: how to read error 809",
        "Error 809 means the tunnel timed out. Reconnect and try again.",
        "KB-900002",
        services=[vpn_service],
    )
    with committed():
        post = wall_actions.do_post(
            other_requester, body="#vpn tunnel drops every ten minutes, 809"
        )
        team_post = wall_actions.do_post(
            vpn_agent,
            body="#vpn tunnel drops again, error 809, gateway logs attached",
            visibility=PostVisibility.TEAM,
            team=network_team,
        )
    return {
        "public": public,
        "confidential": confidential,
        "problem": problem,
        "known_article": known_article,
        "internal": internal,
        "public_article": public_article,
        "post": post,
        "team_post": team_post,
    }
