"""The subscriptions page: everything a person follows, grouped, with Unfollow buttons that use
each app's own action, and a form to follow a service or a hashtag."""

from __future__ import annotations

import pytest
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.changes.models import ChangeWatcher
from hashdesk.changes.watching import do_watch_change
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import IncidentFollower
from hashdesk.notify.subscriptions import subscriptions_of
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Follow, Hashtag
from tests.changes.comms_support import a_week_ahead, scheduled_change
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(person) -> Client:
    client = Client()
    assert client.login(username=person.email, password=PASSWORD)
    return client


@pytest.fixture
def following_everything(requester, other_requester, vpn_service, sso_service, vpn_agent):
    """The requester follows a service, a hashtag, an incident, a change, a thread, a person."""
    wall_actions.do_follow(requester, "service", vpn_service)
    post = wall_actions.do_post(other_requester, body="#sso asks for my password twice")
    wall_actions.do_follow(requester, "thread", post)
    wall_actions.do_follow(requester, "hashtag", Hashtag.objects.get(name="sso"))
    wall_actions.do_follow(requester, "person", other_requester)
    incident = incident_actions.do_create_incident(
        vpn_agent, title="Sign-in loops", description="", service=sso_service
    )
    incident = incident_actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility=Visibility.PUBLIC
    )
    incident_actions.do_follow(requester, incident)
    change = scheduled_change(vpn_agent, [vpn_service], a_week_ahead())
    do_watch_change(requester, change)
    return {"post": post, "incident": incident, "change": change}


def test_the_page_lists_everything_grouped_with_unfollow_buttons(
    requester, other_requester, vpn_service, following_everything
):
    response = signed_in(requester).get("/notifications/subscriptions/")

    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("Services", "Hashtags", "Incidents", "Changes", "Threads", "People"):
        assert f">{heading}</h2>" in html
    assert vpn_service.name in html
    assert "#sso" in html
    assert following_everything["incident"].number in html
    assert following_everything["change"].number in html
    assert other_requester.display_name in html
    assert html.count(">Unfollow<span") == 6
    assert html.count('name="csrfmiddlewaretoken"') >= 7


def test_reading_what_one_follows_costs_one_query_per_kind(
    requester, following_everything, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7):
        found = subscriptions_of(requester)
    assert found.total == 6


@pytest.mark.parametrize("kind", ["service", "hashtag", "incident", "change", "thread", "person"])
def test_unfollowing_each_kind(requester, other_requester, vpn_service, following_everything, kind):
    targets = {
        "service": vpn_service.pk,
        "hashtag": Hashtag.objects.get(name="sso").pk,
        "incident": following_everything["incident"].pk,
        "change": following_everything["change"].pk,
        "thread": following_everything["post"].pk,
        "person": other_requester.pk,
    }
    client = signed_in(requester)

    response = client.post(
        "/notifications/subscriptions/unfollow/",
        {"kind": kind, "target": targets[kind], "label": "it"},
    )

    assert response.status_code == 302
    assert subscriptions_of(requester).total == 5
    if kind == "incident":
        assert not IncidentFollower.objects.filter(user=requester).exists()
        assert AuditEntry.objects.filter(action="incident.unfollow").exists()
    elif kind == "change":
        assert not ChangeWatcher.objects.filter(user=requester).exists()
        assert AuditEntry.objects.filter(action="changes.unwatch").exists()
    else:
        assert not Follow.objects.filter(user=requester, kind=kind).exists()
        assert AuditEntry.objects.filter(action="wall.unfollow").exists()
    page = client.get(response["Location"]).content.decode()
    assert "You no longer follow it." in page


def test_unfollowing_what_one_does_not_follow_says_so(requester, vpn_service):
    client = signed_in(requester)

    response = client.post(
        "/notifications/subscriptions/unfollow/",
        {"kind": "service", "target": vpn_service.pk},
        follow=True,
    )

    assert "You do not follow this service." in response.content.decode()


def test_follow_a_service_and_a_new_hashtag(requester, vpn_service):
    client = signed_in(requester)

    response = client.post(
        "/notifications/subscriptions/follow/", {"service": vpn_service.pk, "hashtag": "#Printers"}
    )

    assert response.status_code == 302
    found = subscriptions_of(requester)
    assert [s.name for s in found.services] == ["VPN"]
    assert [t.name for t in found.hashtags] == ["printers"]


def test_following_a_services_hashtag_binds_it_to_the_service(requester, vpn_service):
    signed_in(requester).post("/notifications/subscriptions/follow/", {"hashtag": "vpn"})

    assert Hashtag.objects.get(name="vpn").service == vpn_service


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose a service or type a hashtag to follow."),
        ({"hashtag": "#no spaces"}, "A hashtag starts with a letter"),
        ({"service": "999999"}, "Select a valid choice"),
    ],
)
def test_bad_follow_input_is_refused_and_nothing_is_followed(requester, vpn_service, data, message):
    response = signed_in(requester).post("/notifications/subscriptions/follow/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Follow.objects.filter(user=requester).exists()


def test_a_refused_hashtag_leaves_the_service_unfollowed_too(requester, vpn_service):
    response = signed_in(requester).post(
        "/notifications/subscriptions/follow/", {"service": vpn_service.pk, "hashtag": "9lives"}
    )

    assert response.status_code == 400
    assert not Follow.objects.filter(user=requester).exists()


def test_a_confidential_service_is_neither_offered_nor_listed(requester, security_service):
    Follow.objects.create(user=requester, kind="service", target_id=security_service.pk)
    client = signed_in(requester)

    html = client.get("/notifications/subscriptions/").content.decode()
    assert security_service.name not in html

    response = client.post("/notifications/subscriptions/follow/", {"service": security_service.pk})
    assert response.status_code == 400


def test_a_service_that_became_confidential_disappears_from_the_list(requester, vpn_service):
    wall_actions.do_follow(requester, "service", vpn_service)
    catalog_actions.do_update_service(None, vpn_service, visibility=Visibility.CONFIDENTIAL)

    assert subscriptions_of(requester).services == []
