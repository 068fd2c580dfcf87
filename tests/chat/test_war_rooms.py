"""Incident war rooms: two lanes opened on declaring a major incident, official updates
mirrored, stand-down, resolution and closing (docs/chat.md, "War rooms")."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.catalog.choices import Visibility
from hashdesk.chat import actions, war_rooms
from hashdesk.chat.choices import Lane, MemberRole, MessageKind, RoomKind
from hashdesk.chat.models import Membership, Message, Room
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, NotFound
from hashdesk.core.visibility import can_subscribe, can_view
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import linking, major
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident

pytestmark = pytest.mark.django_db


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def declare(actor, incident, commander) -> Incident:
    return major.do_declare_major(
        actor, fresh(incident), reason="Nobody can connect.", commander=commander
    )


def members(room: Room) -> dict[int, str]:
    return dict(Membership.objects.filter(room=room).values_list("user_id", "role"))


def lanes(incident: Incident) -> tuple[Room, Room]:
    found = war_rooms.war_room_lanes(incident)
    return found[Lane.RESPONDERS], found[Lane.PUBLIC]


@pytest.fixture
def vpn_incident(requester, other_requester, vpn_service) -> Incident:
    incident = incident_actions.do_create_incident(
        requester, title="VPN down", description="", service=vpn_service
    )
    incident_actions.do_add_affected_user(None, incident, other_requester)
    return incident


def test_declaring_opens_two_lanes_with_their_people(
    requester, other_requester, vpn_agent, problem_manager, vpn_incident, capture_events
):
    with capture_events() as events:
        declare(vpn_agent, vpn_incident, problem_manager)
    responders, public = lanes(vpn_incident)
    assert responders.name == f"{vpn_incident.number} responders"
    assert public.name == f"{vpn_incident.number} updates"
    assert members(responders) == {
        problem_manager.pk: MemberRole.MODERATOR,
        vpn_agent.pk: MemberRole.MODERATOR,
    }
    assert members(public) == {
        problem_manager.pk: MemberRole.MODERATOR,
        vpn_agent.pk: MemberRole.MODERATOR,
        requester.pk: MemberRole.MEMBER,
        other_requester.pk: MemberRole.MEMBER,
    }
    joined = [e for e in events if e.type == "chat_room" and e.op == "joined"]
    assert {e.payload["user_id"] for e in joined if streams.room(public.pk) in e.streams} == {
        problem_manager.pk,
        vpn_agent.pk,
        requester.pk,
        other_requester.pk,
    }
    # The people affected read and ask in the public lane and never see the working lane.
    assert can_subscribe(requester, streams.room(public.pk))
    assert not can_view(requester, responders)
    assert not can_subscribe(requester, streams.room(responders.pk))
    actions.do_send_message(requester, public, body="Is there a workaround?")
    with pytest.raises(NotFound):
        actions.do_send_message(requester, responders, body="let me in")
    system = Message.objects.filter(room=public, kind=MessageKind.SYSTEM).first()
    assert system is not None and "declared a major incident" in system.body


def test_the_war_room_adds_a_constant_number_of_queries(
    make_person, vpn_agent, problem_manager, vpn_service, query_count
):
    def declare_with(affected: int) -> int:
        reporter = make_person(f"reporter{affected}@example.test")
        incident = incident_actions.do_create_incident(
            reporter, title="VPN down", description="", service=vpn_service
        )
        for n in range(affected):
            person = make_person(f"p{affected}-{n}@example.test")
            incident_actions.do_add_affected_user(None, incident, person)
        with query_count() as ctx:
            war_rooms.open_war_room(fresh(incident), vpn_agent)
        return len(ctx)

    assert declare_with(2) == declare_with(20)


def test_a_confidential_incident_has_only_named_staff(
    requester, vpn_agent, problem_manager, security_service, make_person
):
    incident = incident_actions.do_create_incident(
        vpn_agent, title="Breach", description="", service=security_service, reporter=vpn_agent
    )
    second_staff = make_person("sec.agent@example.test", roles=["agent"])
    incident_actions.do_follow(second_staff, incident)
    declare(vpn_agent, incident, problem_manager)
    responders, public = lanes(incident)
    assert set(members(public)) == {vpn_agent.pk, problem_manager.pk, second_staff.pk}
    assert not can_view(requester, public)
    # Staff not named in it do not see it either.
    outsider = make_person("other.agent@example.test", roles=["agent"])
    assert not can_view(outsider, responders) and not can_view(outsider, public)
    assert can_view(problem_manager, responders)


def test_an_internal_incident_of_a_private_person_becomes_public_and_so_its_lane(
    requester, other_requester, vpn_agent, vpn_incident, make_person
):
    declare(vpn_agent, vpn_incident, vpn_agent)
    _, public = lanes(vpn_incident)
    stranger = make_person("stranger@example.test", roles=["requester"])
    assert fresh(vpn_incident).visibility == Visibility.PUBLIC
    assert actions.may_join(stranger, public)
    actions.do_join_room(stranger, public)


def test_official_updates_are_mirrored_into_the_public_lane(
    requester, vpn_agent, problem_manager, vpn_incident, capture_events
):
    declare(vpn_agent, vpn_incident, problem_manager)
    responders, public = lanes(vpn_incident)
    with capture_events() as events:
        major.do_post_official_update(
            problem_manager,
            fresh(vpn_incident),
            body="Fix deployed; token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        )
    official = Message.objects.get(room=public, kind=MessageKind.OFFICIAL)
    assert official.author == problem_manager and official.body.startswith("Fix deployed")
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in official.body
    assert not Message.objects.filter(room=responders, kind=MessageKind.OFFICIAL).exists()
    [created] = [
        e for e in events if e.type == "chat_message" and e.payload["message"]["id"] == official.pk
    ]
    assert created.streams == [streams.room(public.pk)]


def test_stand_down_keeps_the_rooms_and_declaring_again_reuses_them(
    requester, vpn_agent, problem_manager, vpn_incident
):
    declare(vpn_agent, vpn_incident, vpn_agent)
    responders, public = lanes(vpn_incident)
    major.do_stand_down(vpn_agent, fresh(vpn_incident), reason="Not that big after all.")
    assert Message.objects.filter(room=public, body__contains="stood down").exists()
    actions.do_send_message(requester, public, body="Still broken for me")

    declare(vpn_agent, vpn_incident, problem_manager)
    assert Room.objects.filter(kind=RoomKind.WAR_ROOM, incident=vpn_incident).count() == 2
    assert members(responders)[problem_manager.pk] == MemberRole.MODERATOR
    assert Message.objects.filter(room=public, body__contains="declared a major incident again")


def test_resolution_is_told_and_closing_archives_the_lanes(
    requester, vpn_agent, vpn_incident, capture_events
):
    declare(vpn_agent, vpn_incident, vpn_agent)
    responders, public = lanes(vpn_incident)
    incident = incident_actions.do_transition(
        vpn_agent,
        fresh(vpn_incident),
        State.RESOLVED,
        expected_version=fresh(vpn_incident).version,
        resolution_code="solved",
        resolution_notes="Gateway replaced.",
    )
    assert Message.objects.filter(room=public, body=f"{incident.number} is resolved.").exists()
    assert Room.objects.get(pk=public.pk).archived_at is None
    with capture_events() as events:
        incident_actions.do_transition(
            vpn_agent, incident, State.CLOSED, expected_version=incident.version
        )
    assert Room.objects.filter(pk__in=[responders.pk, public.pk], archived_at=None).count() == 0
    assert len([e for e in events if e.type == "chat_room" and e.op == "update"]) == 2
    with pytest.raises(Conflict):
        actions.do_send_message(requester, Room.objects.get(pk=public.pk), body="hello?")
    # Still readable.
    assert actions.history(requester, Room.objects.get(pk=public.pk)).exists()


def test_merging_a_major_incident_archives_its_lanes(vpn_agent, vpn_incident, vpn_service):
    declare(vpn_agent, vpn_incident, vpn_agent)
    responders, public = lanes(vpn_incident)
    survivor = incident_actions.do_create_incident(
        vpn_agent, title="VPN outage", description="", service=vpn_service
    )
    linking.do_merge(vpn_agent, fresh(vpn_incident), survivor)
    assert Room.objects.filter(pk__in=[responders.pk, public.pk], archived_at=None).count() == 0


def test_staff_find_both_lanes_on_the_incident_page(requester, vpn_agent, vpn_incident):
    def page(person) -> str:
        client = Client()
        client.force_login(person)
        response = client.get(reverse("incidents:detail", args=[vpn_incident.number]))
        assert response.status_code == 200
        return response.content.decode()

    assert 'id="war-room"' not in page(vpn_agent)
    declare(vpn_agent, vpn_incident, vpn_agent)
    responders, public = lanes(vpn_incident)
    staff_page = page(vpn_agent)
    assert 'id="war-room"' in staff_page
    assert reverse("chat:room", args=[responders.pk]) in staff_page
    assert reverse("chat:room", args=[public.pk]) in staff_page
    assert 'id="war-room"' not in page(requester)
