""" "Is it just me?": detected service, its open incidents, similar posts, report rate."""

from __future__ import annotations

from django.utils import timezone

from hashdesk.catalog.choices import Visibility
from hashdesk.incidents import actions as incident_actions
from hashdesk.wall import actions, similar


def test_detects_the_service_from_a_hashtag_or_its_name(
    requester, vpn_service, sso_service, security_service
):
    assert similar.detect_service(requester, "my #sso and #vpn") == sso_service
    assert similar.detect_service(requester, "the VPN is slow") == vpn_service
    assert similar.detect_service(requester, "single sign-on loops") == sso_service
    # A confidential service is not detected for someone who may not know it.
    assert similar.detect_service(requester, "#secops") is None
    assert similar.detect_service(requester, "nothing here") is None


def test_open_incidents_similar_posts_and_the_rate(
    requester, other_requester, ana, vpn_agent, vpn_service
):
    first = actions.do_post(other_requester, body="#vpn disconnects every ten minutes")
    actions.do_post(ana, body="#vpn is fine, printer jammed")
    actions.do_post(ana, body="lunch menu")
    incident = actions.do_promote_to_incident(
        vpn_agent, [first], title="VPN drops", service=vpn_service
    )
    draft = "#vpn keeps disconnecting every few minutes"
    # An internal incident is for the people involved: not shown to others.
    incident = incident_actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility=Visibility.INTERNAL
    )
    assert similar.is_it_just_me(requester, draft, timezone.now()).incidents == []
    incident = incident_actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, visibility=Visibility.PUBLIC
    )
    answer = similar.is_it_just_me(requester, draft, timezone.now())
    assert answer.service == vpn_service
    assert answer.incidents == [incident]
    assert [item.post.pk for item in answer.similar] == [first.pk]
    assert answer.rate is not None and answer.rate.recent == 2


def test_nothing_detected_still_finds_similar_posts(requester, other_requester):
    post = actions.do_post(other_requester, body="printer on floor three jammed again")
    answer = similar.is_it_just_me(requester, "printer jammed on floor three", timezone.now())
    assert answer.service is None and answer.incidents == [] and answer.rate is None
    assert [item.post for item in answer.similar] == [post]
