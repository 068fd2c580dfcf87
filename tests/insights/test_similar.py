"""Similar items: ranking, kinds, filters, and the visibility matrix (never from the index).

Records reach the index when their transaction commits: ``committed()`` runs those callbacks
inside the test's own (never committed) transaction."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import TestCase

from hashdesk.accounts import actions as account_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.chat import actions as chat_actions
from hashdesk.chat.models import Message
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.similar import SimilarItem, similar_items
from hashdesk.knowledge.actions import publish_known_error_article
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article
from hashdesk.problems.models import Problem
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.choices import PostVisibility

TEXT = "VPN tunnel drops every ten minutes with error 809"
committed = partial(TestCase.captureOnCommitCallbacks, execute=True)


def _kinds(items: list[SimilarItem]) -> set[str]:
    return {item.kind for item in items}


def _incident(actor, service, title, visibility=Visibility.PUBLIC, description=""):
    with committed():
        incident = incident_actions.do_create_incident(
            actor, title=title, description=description, service=service
        )
    # Visibility is not indexed: set directly (the default is internal).
    Incident.objects.filter(pk=incident.pk).update(visibility=visibility)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def world(requester, other_requester, vpn_agent, problem_manager, vpn_service, network_team):
    """One item of every kind about the same VPN trouble, some that requesters may not see."""
    public = _incident(other_requester, vpn_service, "VPN tunnel drops with error 809")
    confidential = _incident(
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
        internal = Article.objects.create(
            title="VPN tunnel drops: gateway runbook for error 809",
            body="Restart the tunnel daemon",
            number="KB-900001",
            owner=vpn_agent,
            state=ArticleState.PUBLISHED,
            visibility=ArticleVisibility.INTERNAL,
        )
        public_article = Article.objects.create(
            title="VPN tunnel drops: how to read error 809",
            body="Error 809 means the tunnel timed out",
            number="KB-900002",
            owner=vpn_agent,
            state=ArticleState.PUBLISHED,
            visibility=ArticleVisibility.PUBLIC,
        )
        post = wall_actions.do_post(
            other_requester, body="#vpn tunnel drops every ten minutes, 809"
        )
        team_post = wall_actions.do_post(
            vpn_agent,
            body="#vpn tunnel drops again, error 809, gateway logs attached",
            visibility=PostVisibility.TEAM,
            team=network_team,
        )
        service_room = chat_actions.service_room(vpn_service)
        chat_actions.do_join_room(other_requester, service_room)
        chat = chat_actions.do_send_message(
            other_requester, service_room, body="my VPN tunnel drops too, error 809"
        ).message
    return {
        "public": public,
        "confidential": confidential,
        "problem": problem,
        "known_article": known_article,
        "internal": internal,
        "public_article": public_article,
        "post": post,
        "team_post": team_post,
        "chat": chat,
    }


def _objects(items: list[SimilarItem]) -> set[tuple[str, int]]:
    return {(item.kind, item.object.pk) for item in items}


def test_requester_sees_only_what_they_may(requester, world):
    found = similar_items(requester, TEXT, limit=50)
    objects = _objects(found)
    assert (ItemKind.INCIDENT, world["public"].pk) in objects
    assert (ItemKind.INCIDENT, world["confidential"].pk) not in objects
    assert not any(kind == ItemKind.PROBLEM for kind, _ in objects)
    assert (ItemKind.ARTICLE, world["internal"].pk) not in objects
    assert (ItemKind.ARTICLE, world["public_article"].pk) in objects
    assert (ItemKind.POST, world["post"].pk) in objects
    assert (ItemKind.POST, world["team_post"].pk) not in objects
    assert (ItemKind.CHAT, world["chat"].pk) in objects
    # The known error is shown as its article, with the workaround, and only once.
    [known] = [item for item in found if item.kind == ItemKind.KNOWN_ERROR]
    assert known.object == world["known_article"]
    assert known.snippet == "Reconnect with the TCP profile"
    assert (ItemKind.ARTICLE, world["known_article"].pk) not in objects
    assert all(item.url for item in found)


def test_staff_see_by_their_rules(vpn_agent, world):
    objects = _objects(similar_items(vpn_agent, TEXT, limit=50))
    assert (ItemKind.PROBLEM, world["problem"].pk) in objects
    assert (ItemKind.ARTICLE, world["internal"].pk) in objects
    assert (ItemKind.POST, world["team_post"].pk) in objects
    # Confidential incidents: staff see them (docs/visibility.md).
    assert (ItemKind.INCIDENT, world["confidential"].pk) in objects


def test_private_rooms_are_not_found(requester, other_requester, vpn_agent, world):
    room = chat_actions.service_room(world["public"].service)
    assert room  # the service room is public; a help conversation is private
    from hashdesk.chat import help

    with committed():
        conversation = help.do_open_conversation(
            other_requester, topic="Home", body="VPN tunnel drops error 809 at my home"
        ).conversation
    hidden = Message.objects.filter(room=conversation.room).order_by("pk").last()
    assert (ItemKind.CHAT, hidden.pk) not in _objects(similar_items(requester, TEXT, limit=50))
    assert (ItemKind.CHAT, hidden.pk) in _objects(similar_items(other_requester, TEXT, limit=50))


def test_kinds_limit_exclude_and_open_only(requester, vpn_agent, vpn_service, world):
    only_known = similar_items(
        requester, TEXT, service=vpn_service, kinds=("known_error",), limit=3
    )
    assert [item.kind for item in only_known] == [ItemKind.KNOWN_ERROR]
    assert len(similar_items(requester, TEXT, limit=2)) == 2
    excluded = similar_items(
        requester, TEXT, kinds=["incident"], exclude=[("incident", world["public"].pk)]
    )
    assert excluded == []
    world["public"].state = "closed"
    with committed():
        world["public"].save(update_fields=["state"])
    assert similar_items(requester, TEXT, kinds=["incident"], open_only=True) == []
    assert len(similar_items(requester, TEXT, kinds=["incident"])) == 1
    with pytest.raises(ValueError):
        similar_items(requester, TEXT, kinds=["nonsense"])


def test_best_match_first_and_unrelated_text_finds_nothing(requester, other_requester, vpn_service):
    printer = _incident(other_requester, vpn_service, "Printer on floor three jams")
    vpn = _incident(other_requester, vpn_service, "VPN tunnel drops every ten minutes")
    found = similar_items(requester, "the printer jams on floor three", kinds=["incident"])
    assert [item.object for item in found] == [printer]
    assert similar_items(requester, "vpn tunnel drops")[0].object == vpn
    assert similar_items(requester, "quarterly holiday party") == []
    assert similar_items(requester, "the and of") == []  # only stop words


def test_a_new_item_is_findable_at_once(requester, other_requester, vpn_service):
    assert similar_items(requester, "keyboard smoking") == []
    incident = _incident(other_requester, vpn_service, "Keyboard is smoking")
    assert [item.object for item in similar_items(requester, "keyboard smoking")] == [incident]


def test_same_service_boost(requester, other_requester, vpn_service, sso_service):
    on_sso = _incident(other_requester, sso_service, "Login page loops forever")
    on_vpn = _incident(other_requester, vpn_service, "Login page loops forever")
    ids = [item.object.pk for item in similar_items(requester, "login loops", service=vpn_service)]
    assert ids == [on_vpn.pk, on_sso.pk]
    ids = [item.object.pk for item in similar_items(requester, "login loops", service=sso_service)]
    assert ids == [on_sso.pk, on_vpn.pk]


def test_invisible_hits_do_not_starve_the_result(
    requester, vpn_agent, other_requester, vpn_service
):
    for n in range(12):
        _incident(vpn_agent, vpn_service, f"Disk quota full on share {n}", "confidential")
    visible = _incident(other_requester, vpn_service, "Disk quota full on my share")
    found = similar_items(requester, "disk quota full share", limit=3)
    assert [item.object for item in found] == [visible]


def test_query_count_is_bounded(requester, world, query_count):
    with query_count() as ctx:
        similar_items(requester, TEXT, limit=10)
    # vocabulary, candidates, corpus statistics (cached), one per kind read back (+ the viewer's
    # roles and the known errors' problem reads).
    assert len(ctx) <= 14
    team = account_actions.do_create_team(None, name="Other")
    assert team


def test_the_panel_fragment(client, requester, vpn_agent, world):
    client.force_login(requester)
    page = client.get("/insights/similar/", {"text": TEXT, "context": "incident"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h3" in html and "Known errors" in html and "Workaround:" in html
    assert "This solved it for me" in html and "Me too" in html
    assert world["confidential"].number not in html and "Problems" not in html
    composer = client.get("/insights/similar/", {"text": "#vpn " + TEXT, "context": "composer"})
    assert "Known errors" in composer.content.decode()
    assert "Open incidents" not in composer.content.decode()
    # Asking for the agents' triage view as a requester gives the requester's kinds.
    triage = client.get("/insights/similar/", {"text": TEXT, "context": "triage"}).content
    assert b"Problems" not in triage
    assert client.get("/insights/similar/", {"text": "zz"}).content.strip() == b""
    client.force_login(vpn_agent)
    triage = client.get(
        "/insights/similar/",
        {"text": TEXT, "context": "triage", "exclude": f"incident:{world['public'].pk}"},
    ).content.decode()
    assert "Problems" in triage and world["confidential"].number in triage
    assert f">{world['public'].number} " not in triage


def test_the_pages_include_the_panel(client, requester, vpn_agent, world):
    client.force_login(requester)
    assert b"data-similar" in client.get("/incidents/new/").content
    assert b"data-similar" in client.get("/chat/help/").content
    from django.urls import reverse

    assert b'data-similar-context="composer"' in client.get(reverse("wall:home")).content
    client.force_login(vpn_agent)
    detail = client.get(f"/incidents/{world['public'].number}/").content.decode()
    assert 'data-similar-context="triage"' in detail
    assert f'data-similar-exclude="incident:{world["public"].pk}"' in detail
