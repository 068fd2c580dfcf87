"""Who may do what, "me too" and its impact rescoring, and work notes kept from requesters."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from hashdesk.accounts.choices import Role
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_subscribe, visible_to
from hashdesk.incidents import actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry
from hashdesk.notify.models import Notification


@pytest.fixture
def public_incident(vpn_agent, vpn_incident) -> Incident:
    return actions.do_update_incident(
        vpn_agent, vpn_incident, expected_version=vpn_incident.version, visibility="public"
    )


@pytest.mark.django_db
def test_requesters_edit_only_title_and_description_of_their_own_new_incident(
    requester, other_requester, vpn_agent, network_team, vpn_incident
):
    with pytest.raises(Forbidden):
        actions.do_update_incident(requester, vpn_incident, expected_version=1, impact=1)
    with pytest.raises(NotFound):
        actions.do_update_incident(other_requester, vpn_incident, expected_version=1, title="x")
    edited = actions.do_update_incident(
        requester, vpn_incident, expected_version=1, title="VPN drops", description="*often*"
    )
    assert (edited.title, edited.version) == ("VPN drops", 2)
    assert edited.description_html == "<p><em>often</em></p>\n"
    assigned = actions.do_assign(vpn_agent, edited, expected_version=2, group=network_team)
    with pytest.raises(Forbidden):
        actions.do_update_incident(requester, assigned, expected_version=3, title="again")


@pytest.mark.django_db
def test_staff_updates_record_each_field_and_recompute_priority(vpn_agent, vpn_incident):
    updated = actions.do_update_incident(
        vpn_agent, vpn_incident, expected_version=1, impact=1, urgency=1, category="access"
    )
    assert (updated.priority, updated.impact_source) == (1, "manual")
    changes = TimelineEntry.objects.filter(incident=updated)
    assert set(changes.filter(kind="field_change").values_list("data__field", flat=True)) == {
        "impact",
        "urgency",
        "category",
    }
    assert changes.get(kind="priority_change").data["priority"] == [5, 1]
    with pytest.raises(ValidationFailed) as caught:
        actions.do_update_incident(vpn_agent, updated, expected_version=2, colour="red")
    assert caught.value.field == "colour"


@pytest.mark.django_db
def test_me_too_adds_an_affected_follower_and_rescoring_raises_impact(
    settings, make_person, vpn_agent, public_incident, capture_events
):
    settings.INCIDENT_IMPACT_POLICY = {
        "high": {"affected_users": 50, "vip": True},
        "medium": {"affected_users": 3, "sites": 2},
    }
    colleague = make_person("c1@example.test", roles=[Role.REQUESTER], site="HQ")
    with capture_events() as events:
        actions.do_add_affected_user(colleague, public_incident, colleague, channel="wall")
    incident = Incident.objects.get(pk=public_incident.pk)
    assert IncidentFollower.objects.filter(incident=incident, user=colleague).exists()
    assert (incident.impact, incident.priority) == (3, 5)  # two people, one site: no rule met
    assert f"user:{colleague.pk}" in events[0].streams
    with pytest.raises(Conflict):
        actions.do_add_affected_user(colleague, incident, colleague, channel="web")

    third = make_person("c2@example.test", roles=[Role.REQUESTER], site="Lyon")
    actions.do_add_affected_user(third, incident, third, channel="chat")
    incident.refresh_from_db()
    assert (incident.impact, incident.priority, incident.impact_source) == (2, 4, "policy")
    change = TimelineEntry.objects.get(incident=incident, kind="priority_change")
    assert change.data == {
        "reason": "impact_policy",
        "impact": [3, 2],
        "priority": [5, 4],
    }

    boss = make_person("ceo@example.test", roles=[Role.REQUESTER], is_vip=True)
    actions.do_add_affected_user(vpn_agent, incident, boss, channel="email")
    incident.refresh_from_db()
    assert (incident.impact, incident.priority) == (1, 3)

    # Leaving does not quietly lower the impact: an agent lowers it explicitly.
    actions.do_remove_affected_user(boss, incident, boss)
    incident.refresh_from_db()
    assert incident.impact == 1
    assert not AffectedUser.objects.filter(incident=incident, user=boss).exists()


@pytest.mark.django_db
def test_requesters_cannot_add_other_people(requester, other_requester, public_incident):
    with pytest.raises(Forbidden):
        actions.do_add_affected_user(requester, public_incident, other_requester, channel="web")


@pytest.mark.django_db
def test_work_notes_never_reach_requesters(requester, vpn_agent, public_incident, capture_events):
    with capture_events() as events:
        note = actions.do_add_update(
            vpn_agent, public_incident, body="Gateway **password** is hunter2", public=False
        )
        update = actions.do_add_update(
            vpn_agent, public_incident, body="We are on it.", public=True
        )
    assert events[0].streams == ["staff"]
    assert "hunter2" not in str([e.payload for e in events[1:]])
    assert f"user:{requester.pk}" in events[1].streams
    seen = set(visible_to(requester, TimelineEntry.objects.all()).values_list("pk", flat=True))
    assert update.pk in seen and note.pk not in seen
    staff_seen = visible_to(vpn_agent, TimelineEntry.objects.all())
    assert staff_seen.filter(pk=note.pk).exists()
    with pytest.raises(Forbidden):
        actions.do_add_update(requester, public_incident, body="psst", public=False)
    comment = actions.do_add_update(requester, public_incident, body="Still down", public=True)
    assert comment.kind == "public_update" and comment.is_public


@pytest.mark.django_db
def test_confidential_incidents_publish_only_to_staff(
    requester, vpn_agent, vpn_incident, capture_events
):
    with capture_events() as events:
        hidden = actions.do_update_incident(
            vpn_agent, vpn_incident, expected_version=1, visibility="confidential"
        )
        actions.do_add_update(vpn_agent, hidden, body="public text", public=True)
    # The visibility change itself still tells the reporter, so their page drops it.
    assert f"user:{requester.pk}" in events[0].streams
    assert events[1].streams == ["staff"]
    assert not visible_to(requester, Incident.objects.all()).exists()


@pytest.mark.django_db
def test_follow_and_unfollow(other_requester, public_incident):
    actions.do_follow(other_requester, public_incident)
    with pytest.raises(Conflict):
        actions.do_follow(other_requester, public_incident)
    actions.do_unfollow(other_requester, public_incident)
    with pytest.raises(NotFound):
        actions.do_unfollow(other_requester, public_incident)


@pytest.mark.django_db
def test_publishing_an_update_costs_the_same_for_many_affected_people(
    make_person, vpn_agent, public_incident, query_count
):
    def cost() -> int:
        with query_count() as ctx:
            actions.do_add_update(vpn_agent, public_incident, body="Update", public=True)
        return len(ctx)

    # The first staff update also stops the response SLA clock; measure the steady state.
    actions.do_add_update(vpn_agent, public_incident, body="Looking into it", public=True)
    few = cost()
    for n in range(10):
        person = make_person(f"p{n}@example.test", roles=[Role.REQUESTER])
        actions.do_add_affected_user(vpn_agent, public_incident, person, channel="web")
    assert cost() == few
    # Each of them was told about the last update (incidents.notices).
    told = Notification.objects.filter(kind="incident.update", recipient__email__startswith="p")
    assert told.count() == 10
    # A staff update of a public incident is also an official post on the wall (its row, audit
    # row and event: 9 more) and a notice to the people involved (who they are, the notices
    # and their events: 9 more). Routing them to their other channels reads the preferences
    # and settings and writes the outbox rows in a savepoint: 5 more (notify.dispatch).
    # PostgreSQL adds the advisory-lock queries that order events and the audit chain: two
    # for the update, two for the post, one for the notices.
    assert few <= (44 if connection.vendor == "postgresql" else 39)


@pytest.mark.django_db
def test_incident_stream_follows_incident_visibility_and_never_carries_work_notes(
    requester, other_requester, vpn_agent, vpn_incident, capture_events
):
    stream = streams.incident(vpn_incident.pk)
    # Internal incident: its reporter and staff may listen, a colleague may not.
    assert can_subscribe(requester, stream) and can_subscribe(vpn_agent, stream)
    assert not can_subscribe(other_requester, stream)
    assert not can_subscribe(AnonymousUser(), stream)
    public = actions.do_update_incident(
        vpn_agent, vpn_incident, expected_version=vpn_incident.version, visibility="public"
    )
    assert can_subscribe(other_requester, stream)
    with capture_events() as events:
        actions.do_add_update(vpn_agent, public, body="secret detail", public=False)
        actions.do_add_update(vpn_agent, public, body="Fix on its way", public=True)
    assert stream not in events[0].streams
    assert stream in events[1].streams
    hidden = actions.do_update_incident(
        vpn_agent, public, expected_version=public.version, visibility="confidential"
    )
    assert not can_subscribe(requester, stream)
    with capture_events() as events:
        actions.do_add_update(vpn_agent, hidden, body="still internal", public=True)
    assert events[0].streams == ["staff"]


@pytest.mark.django_db
def test_secrets_are_redacted_before_anything_is_stored_or_published(
    requester, vpn_agent, vpn_service, capture_events
):
    with capture_events() as events:
        incident = actions.do_create_incident(
            requester,
            title="VPN login fails, password: Hunter2Hunter2",
            description="My card 4111 1111 1111 1111 was charged, password=s3cr3t-Pass",
            service=vpn_service,
        )
        entry = actions.do_add_update(
            vpn_agent,
            incident,
            body="Use token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            public=True,
        )
    stored = str(
        Incident.objects.filter(pk=incident.pk).values_list(
            "title", "description", "description_html"
        )
    ) + str(TimelineEntry.objects.filter(incident=incident).values_list("body", "body_html"))
    told = str(Notification.objects.values_list("title", "body"))
    assert "Update on INC-" in told  # the reporter was told of the update, without its secret
    shown = stored + str([e.payload for e in events]) + told
    for secret in ("Hunter2Hunter2", "4111 1111 1111 1111", "s3cr3t-Pass", "ghp_abcdefghij"):
        assert secret not in shown
    assert "[redacted password]" in incident.title
    assert entry.data["redactions"][0]["kind"] == "token"
