"""Story 3: a major incident reaches the subscribers of its service and of every service that
depends on it — each once, through their channels, respecting visibility — at a constant number
of queries however many there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.core.models import OutboxMessage
from hashdesk.incidents import actions, major
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident
from hashdesk.notify.choices import Category, category_of
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Follow, Hashtag

pytestmark = pytest.mark.django_db

KINDS = ("incident.major_declared", "incident.official_update", "incident.major_resolved")


@pytest.fixture
def dependents(sso_service, vpn_service, security_service):
    """VPN (public) and Security operations (confidential) both sign in through SSO."""
    catalog_actions.do_add_dependency(None, vpn_service, sso_service)
    catalog_actions.do_add_dependency(None, security_service, sso_service)
    return vpn_service, security_service


@pytest.fixture
def sso_incident(vpn_agent, sso_service) -> Incident:
    return actions.do_create_incident(
        vpn_agent, title="Sign-in failing", description="", service=sso_service
    )


def told(person, kind=None):
    found = Notification.objects.filter(recipient=person, kind__in=KINDS)
    if kind:
        found = found.filter(kind=kind)
    return list(found)


def declare(agent, incident):
    return major.do_declare_major(agent, incident, reason="Nobody can sign in.", commander=agent)


def resolve(agent, incident):
    incident = Incident.objects.get(pk=incident.pk)
    return actions.do_transition(
        agent,
        incident,
        State.RESOLVED,
        expected_version=incident.version,
        resolution_code="solved",
        resolution_notes="Back.",
    )


def test_the_kinds_are_major_incident_notices():
    assert {category_of(kind) for kind in KINDS} == {Category.MAJOR}


def test_followers_of_a_dependent_service_hear_every_step(
    requester, other_requester, vpn_agent, dependents, sso_incident
):
    vpn_service, _ = dependents
    wall_actions.do_follow(requester, "service", vpn_service)
    Hashtag.objects.get_or_create(name="vpn", defaults={"service": vpn_service})
    wall_actions.do_follow(other_requester, "hashtag", Hashtag.objects.get(name="vpn"))

    incident = declare(vpn_agent, sso_incident)
    major.do_post_official_update(vpn_agent, incident, body="Failing over to the second site.")
    resolve(vpn_agent, incident)

    for person in (requester, other_requester):
        assert sorted(n.kind for n in told(person)) == sorted(KINDS)
    update = told(requester, "incident.official_update")[0]
    assert update.body == "Failing over to the second site."
    assert update.url == f"/incidents/{incident.number}/"
    # ...and by mail, their default for major incidents.
    mails = OutboxMessage.objects.filter(recipient=requester, channel="email")
    assert sorted(mails.values_list("kind", flat=True)) == sorted(KINDS)
    # The one who acted is not told of their own declaration and update.
    assert [n.kind for n in told(vpn_agent)] == ["incident.major_resolved"]


def test_each_person_is_told_once_however_they_are_connected(
    requester, vpn_agent, dependents, sso_service, sso_incident
):
    vpn_service, _ = dependents
    wall_actions.do_follow(requester, "service", vpn_service)
    wall_actions.do_follow(requester, "service", sso_service)
    Hashtag.objects.get_or_create(name="sso", defaults={"service": sso_service})
    wall_actions.do_follow(requester, "hashtag", Hashtag.objects.get(name="sso"))
    actions.do_add_affected_user(vpn_agent, sso_incident, requester)

    declare(vpn_agent, sso_incident)

    assert len(told(requester, "incident.major_declared")) == 1
    assert OutboxMessage.objects.filter(recipient=requester).count() == 1


def test_followers_of_a_confidential_dependent_hear_only_when_they_are_staff(
    requester, problem_manager, vpn_agent, dependents, sso_incident
):
    _, security_service = dependents
    # Followed before it was confidential; requesters may no longer know of it.
    Follow.objects.create(user=requester, kind="service", target_id=security_service.pk)
    wall_actions.do_follow(problem_manager, "service", security_service)

    declare(vpn_agent, sso_incident)

    assert told(requester) == []
    assert len(told(problem_manager, "incident.major_declared")) == 1


def test_a_confidential_incident_reaches_staff_only(
    requester, problem_manager, vpn_agent, sso_service, sso_incident
):
    wall_actions.do_follow(requester, "service", sso_service)
    wall_actions.do_follow(problem_manager, "service", sso_service)
    incident = actions.do_update_incident(
        vpn_agent,
        sso_incident,
        expected_version=sso_incident.version,
        visibility=Visibility.CONFIDENTIAL,
    )
    actions.do_add_affected_user(vpn_agent, incident, requester)

    incident = declare(vpn_agent, Incident.objects.get(pk=incident.pk))
    major.do_post_official_update(vpn_agent, incident, body="Contained.")

    assert told(requester) == []
    assert not OutboxMessage.objects.filter(recipient=requester, kind__in=KINDS).exists()
    # Staff involved hear it; staff who merely follow the service hear only what is public.
    assert told(problem_manager) == []


def test_a_service_follower_on_a_public_service_of_an_internal_incident_is_not_told(
    requester, vpn_agent, sso_service, sso_incident
):
    """An incident made internal again after it was declared reaches only those involved."""
    wall_actions.do_follow(requester, "service", sso_service)
    incident = declare(vpn_agent, sso_incident)
    incident = actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility=Visibility.INTERNAL
    )

    major.do_post_official_update(vpn_agent, incident, body="Still failing.")

    assert [n.kind for n in told(requester)] == ["incident.major_declared"]


def _update_queries(agent, incident) -> int:
    """Queries of an official update, leaving out the bulk INSERTs that SQLite alone splits by
    its limit on parameters (PostgreSQL sends one each)."""
    with CaptureQueriesContext(connection) as ctx:
        major.do_post_official_update(agent, incident, body="Still working on it.")
    return len([q for q in ctx.captured_queries if not q["sql"].startswith("INSERT")])


def test_an_official_update_costs_the_same_for_one_and_for_many_subscribers(
    make_person, vpn_agent, dependents, sso_incident
):
    vpn_service, _ = dependents
    people = [make_person(f"subscriber{i}@example.test") for i in range(41)]
    wall_actions.do_follow(people[0], "service", vpn_service)
    incident = declare(vpn_agent, sso_incident)
    # The first update also stops the response clock; compare the ones after it.
    major.do_post_official_update(vpn_agent, incident, body="We are on it.")

    one = _update_queries(vpn_agent, Incident.objects.get(pk=incident.pk))
    for person in people[1:]:
        wall_actions.do_follow(person, "service", vpn_service)
    many = _update_queries(vpn_agent, Incident.objects.get(pk=incident.pk))

    assert many == one
    assert Notification.objects.filter(kind="incident.official_update").count() == 2 + 41
    assert OutboxMessage.objects.filter(kind="incident.official_update").count() == 2 + 41
