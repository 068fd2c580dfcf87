"""The wall and incidents: promoting posts, official posts from incident updates, and
announcements."""

from __future__ import annotations

import pytest

from hashdesk.catalog.choices import Visibility
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden
from hashdesk.core.visibility import can_view
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import major
from hashdesk.incidents.choices import Channel
from hashdesk.incidents.models import AffectedUser, IncidentFollower
from hashdesk.wall import actions, timelines
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Hashtag, Post


def test_promoting_posts_creates_one_incident_with_every_author_affected(
    requester, other_requester, ana, vpn_agent, vpn_service, capture_events
):
    posts = [
        actions.do_post(requester, body="#vpn drops every ten minutes"),
        actions.do_post(other_requester, body="#vpn is gone for me too"),
        actions.do_post(ana, body="cannot reach the intranet from home"),
        actions.do_post(requester, body="and again #vpn"),
    ]
    with pytest.raises(Forbidden):
        actions.do_promote_to_incident(requester, posts, title="VPN unstable", service=vpn_service)
    with capture_events() as events:
        incident = actions.do_promote_to_incident(
            vpn_agent, posts, title="VPN unstable", service=vpn_service
        )
    assert incident.reporter == requester and incident.source == Channel.WALL
    assert set(Post.objects.filter(incident=incident)) == set(posts)
    people = {requester.pk, other_requester.pk, ana.pk}
    assert set(AffectedUser.objects.filter(incident=incident).values_list("user", flat=True)) == (
        people
    )
    assert people <= set(
        IncidentFollower.objects.filter(incident=incident).values_list("user", flat=True)
    )
    updates = [e for e in events if e.type == "wall_post"]
    assert {e.payload["post"]["id"] for e in updates} == {p.pk for p in posts}
    assert all(e.payload["post"]["incident"]["number"] == incident.number for e in updates)
    with pytest.raises(Conflict):
        actions.do_promote_to_incident(vpn_agent, posts[:1], title="Again", service=vpn_service)


def test_a_public_burst_makes_a_public_incident_and_a_team_post_an_internal_one(
    requester, other_requester, finance_team, vpn_agent, vpn_service
):
    burst = [
        actions.do_post(requester, body="#vpn down"),
        actions.do_post(other_requester, body="#vpn down here too"),
    ]
    incident = actions.do_promote_to_incident(
        vpn_agent, burst, title="VPN down", service=vpn_service
    )
    assert incident.visibility == Visibility.PUBLIC
    assert can_view(other_requester, incident)
    team_post = actions.do_post(
        requester, body="#vpn down in finance", visibility="team", team=finance_team
    )
    internal = actions.do_promote_to_incident(
        vpn_agent, [team_post], title="VPN down in finance", service=vpn_service
    )
    assert internal.visibility == Visibility.INTERNAL
    assert not can_view(other_requester, internal) and can_view(requester, internal)


def test_a_staff_public_update_becomes_an_official_post(
    vpn_incident, vpn_agent, requester, other_requester, capture_events
):
    vpn_incident = incident_actions.do_update_incident(
        vpn_agent, vpn_incident, expected_version=vpn_incident.version, visibility="public"
    )
    report = actions.do_post(other_requester, body="#vpn still down")
    with capture_events() as events:
        incident_actions.do_add_update(
            vpn_agent, vpn_incident, body="We are restarting the gateway.", public=True
        )
    official = Post.objects.get(kind=PostKind.OFFICIAL)
    assert (official.author, official.incident, official.service) == (
        vpn_agent,
        vpn_incident,
        vpn_incident.service,
    )
    assert official.body == "We are restarting the gateway."
    vpn_tag = Hashtag.objects.get(name="vpn")
    assert list(timelines.hashtag(requester, vpn_tag)) == [official, report]
    assert can_view(other_requester, official)
    created = [e for e in events if e.type == "wall_post"]
    assert [e.op for e in created] == ["create"]
    assert streams.MEMBERS in created[0].streams
    assert list(timelines.announcements(requester)) == [official]


def test_work_notes_and_requester_comments_are_not_official_posts(
    vpn_incident, vpn_agent, requester
):
    incident_actions.do_add_update(vpn_agent, vpn_incident, body="Gateway log: x", public=False)
    incident_actions.do_add_update(requester, vpn_incident, body="Still broken", public=True)
    assert not Post.objects.exists()


def test_internal_incidents_stay_with_the_people_involved(vpn_incident, vpn_agent):
    # Only the reporter, the affected people and followers may see an internal incident; the
    # wall reaches everyone, so its updates stay on the incident.
    incident_actions.do_add_update(vpn_agent, vpn_incident, body="Restarting it", public=True)
    assert not Post.objects.exists()


def test_confidential_incidents_never_reach_the_wall(vpn_incident, vpn_agent):
    incident = incident_actions.do_update_incident(
        vpn_agent,
        vpn_incident,
        expected_version=vpn_incident.version,
        visibility=Visibility.CONFIDENTIAL,
    )
    incident_actions.do_add_update(vpn_agent, incident, body="Update", public=True)
    assert not Post.objects.exists()


def test_major_incident_notices_and_official_updates_are_official_posts(vpn_incident, vpn_agent):
    incident = major.do_declare_major(
        vpn_agent, vpn_incident, reason="Everyone is offline", commander=vpn_agent
    )
    major.do_post_official_update(vpn_agent, incident, body="Vendor engaged.")
    bodies = list(
        Post.objects.filter(kind=PostKind.OFFICIAL, incident=incident)
        .order_by("created_at", "id")
        .values_list("body", flat=True)
    )
    assert bodies == ["Everyone is offline", "Vendor engaged."]


def test_announcements_are_pinned_by_staff(vpn_agent, requester, capture_events):
    with pytest.raises(Forbidden):
        actions.do_announce(requester, "Hello all")
    with capture_events() as events:
        post = actions.do_announce(vpn_agent, "Office network maintenance on **Saturday**")
    assert post.kind == PostKind.ANNOUNCEMENT and post.is_pinned
    assert events[0].op == "create"
    assert timelines.pinned(requester) == [post]
    actions.do_unpin(vpn_agent, post)
    assert timelines.pinned(requester) == []
    with pytest.raises(Conflict):
        actions.do_unpin(vpn_agent, post)
    actions.do_pin(vpn_agent, post)
    assert timelines.pinned(requester) == [post]
