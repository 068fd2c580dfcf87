"""Service-wide announcements (hashdesk.notify.announcements): what the incident and change
actions announce, to whom it may go, and how the status page's email subscribers receive it
(PRODUCT.md stories 3 and 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.changes import announcements as change_announcements
from hashdesk.core.models import OutboxMessage
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import major
from hashdesk.incidents.models import Incident
from hashdesk.notify import announcements
from hashdesk.notify.announcements import Announcement, announce
from hashdesk.status import subscribers
from hashdesk.status.models import StatusSubscriber
from tests.changes.comms_support import a_week_ahead, scheduled_change

VISITOR = "visitor@example.org"


@pytest.fixture
def heard() -> Iterator[list[Announcement]]:
    """Every announcement offered to the receivers while the test runs (a receiver like any
    other, removed afterwards)."""
    received: list[Announcement] = []
    announcements.announcement_receiver(received.append)
    try:
        yield received
    finally:
        announcements._receivers.remove(received.append)


@pytest.fixture
def mail_service(db: Any, vpn_service: Service) -> Service:
    """A public service that depends on the VPN: an outage of the VPN is announced on it too."""
    service = catalog_actions.do_create_service(
        None, name="Mail", hashtag="mail", visibility=Visibility.PUBLIC
    )
    catalog_actions.do_add_dependency(None, service, vpn_service)
    return service


@pytest.fixture
def payroll_service(db: Any) -> Service:
    return catalog_actions.do_create_service(
        None, name="Payroll", hashtag="payroll", visibility=Visibility.INTERNAL
    )


def _subscriber(address: str, services: list[Service] | None = None) -> StatusSubscriber:
    subscriber = StatusSubscriber.objects.create(email=address, confirmed_at=timezone.now())
    subscriber.services.set(services or [])
    return subscriber


def _mails_to(address: str) -> list[OutboxMessage]:
    return [row for row in OutboxMessage.objects.order_by("id") if address in row.payload["to"]]


def _incident(reporter: User, service: Service, *, impact: int = 1, urgency: int = 2) -> Incident:
    return incident_actions.do_create_incident(
        reporter,
        title="VPN drops every ten minutes",
        description="Since this morning the VPN disconnects.",
        service=service,
        impact=impact,
        urgency=urgency,
    )


def _make_public(agent: User, incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident_actions.do_update_incident(
        agent, incident, expected_version=incident.version, visibility=Visibility.PUBLIC
    )


def _resolve(agent: User, incident: Incident, notes: str = "A router was replaced.") -> Incident:
    incident.refresh_from_db()
    return incident_actions.do_transition(
        agent,
        incident,
        "resolved",
        expected_version=incident.version,
        resolution_code="solved",
        resolution_notes=notes,
    )


# --- Major incidents (story 3) ------------------------------------------------------------------


def test_a_major_incident_is_announced_at_declaration_each_update_and_resolution(
    heard: list[Announcement],
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    mail_service: Service,
) -> None:
    follower_of_dependent = _subscriber("mail.user@example.org", [mail_service])
    incident = major.do_declare_major(
        vpn_agent,
        _incident(requester, vpn_service),
        reason="Everyone working from home is cut off.",
        commander=vpn_agent,
    )
    entry = major.do_post_official_update(
        vpn_agent, incident, body="Use the break-glass account, password: Sunny-Day-42"
    )
    _resolve(vpn_agent, incident)

    kinds = [a.kind for a in heard if a.kind.startswith("incident.major") or "official" in a.kind]
    assert kinds == [
        "incident.major_declared",
        "incident.official_update",
        "incident.major_resolved",
    ]
    declared, update, resolved = (a for a in heard if a.kind in kinds)
    assert declared.audience == Visibility.PUBLIC
    assert declared.service_ids == (vpn_service.pk, mail_service.pk)
    assert declared.thread == f"incident/{incident.number}"
    assert update.key == f"incident:{incident.pk}:major:{entry.pk}"
    assert update.body == entry.body  # the redacted text, never what was typed
    assert "Sunny-Day-42" not in update.body
    assert "A router was replaced." in resolved.body
    # The subscriber of the dependent service hears all three, each once.
    mails = _mails_to(follower_of_dependent.email)
    assert [mail.kind for mail in mails] == kinds
    assert all(mail.recipient_id is None for mail in mails)


def test_audience_matrix_confidential_internal_public(
    heard: list[Announcement],
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    security_service: Service,
) -> None:
    everyone = _subscriber(VISITOR)

    # Confidential: announced to nobody, mailed to nobody.
    secret = major.do_declare_major(
        vpn_agent,
        _incident(vpn_agent, security_service),
        reason="Credential theft suspected.",
        commander=vpn_agent,
    )
    major.do_post_official_update(vpn_agent, secret, body="Containment in progress.")
    assert not any(a.thread == f"incident/{secret.number}" for a in heard)

    # Internal (the default of a new incident): signed-in receivers only, no anonymous mail.
    internal = _incident(requester, vpn_service)
    incident_actions.do_add_update(vpn_agent, internal, body="Looking into it.", public=True)
    (opened, update) = [a for a in heard if a.thread == f"incident/{internal.number}"]
    assert (opened.kind, update.kind) == ("incident.opened", "incident.update")
    assert {opened.audience, update.audience} == {Visibility.INTERNAL}
    assert _mails_to(everyone.email) == []

    # Public on a public service: everyone, also by mail.
    _make_public(vpn_agent, internal)
    incident_actions.do_add_update(vpn_agent, internal, body="A fix is rolling out.", public=True)
    _resolve(vpn_agent, internal)
    public = [a for a in heard if a.thread == f"incident/{internal.number}"][2:]
    assert [(a.kind, a.audience) for a in public] == [
        ("incident.update", Visibility.PUBLIC),
        ("incident.resolved", Visibility.PUBLIC),
    ]
    assert [mail.kind for mail in _mails_to(everyone.email)] == [
        "incident.update",
        "incident.resolved",
    ]


def test_a_public_incident_on_an_internal_service_is_not_mailed_to_the_public(
    heard: list[Announcement], requester: User, vpn_agent: User, payroll_service: Service
) -> None:
    everyone = _subscriber(VISITOR)
    incident = _make_public(vpn_agent, _incident(vpn_agent, payroll_service))
    incident_actions.do_add_update(vpn_agent, incident, body="Payslips are late.", public=True)
    (update,) = [a for a in heard if a.kind == "incident.update"]
    assert update.audience == Visibility.INTERNAL
    assert _mails_to(everyone.email) == []


def test_incidents_below_the_status_page_and_work_notes_are_not_announced(
    heard: list[Announcement], requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    low = _make_public(vpn_agent, _incident(requester, vpn_service, impact=3, urgency=2))
    assert low.priority == 4
    incident_actions.do_add_update(vpn_agent, low, body="One laptop affected.", public=True)
    _resolve(vpn_agent, low)
    high = _make_public(vpn_agent, _incident(requester, vpn_service))
    incident_actions.do_add_update(vpn_agent, high, body="Checking the logs.", public=False)
    # A requester's public comment is theirs, not the desk's word.
    incident_actions.do_add_update(requester, high, body="Still broken for me.", public=True)
    assert [a.kind for a in heard] == ["incident.opened"]
    assert heard[0].title.startswith(f"New incident {high.number}")


def test_a_subscriber_hears_only_of_followed_services_while_active(
    requester: User, vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    vpn_follower = _subscriber("vpn.fan@example.org", [vpn_service])
    sso_follower = _subscriber("sso.fan@example.org", [sso_service])
    unconfirmed = StatusSubscriber.objects.create(email="later@example.org")
    gone = _subscriber("gone@example.org")
    gone.unsubscribed_at = timezone.now()
    gone.save(update_fields=["unsubscribed_at"])

    major.do_declare_major(
        vpn_agent, _incident(requester, vpn_service), reason="Down.", commander=vpn_agent
    )
    assert len(_mails_to(vpn_follower.email)) == 1
    assert _mails_to(sso_follower.email) == []
    assert _mails_to(unconfirmed.email) == []
    assert _mails_to(gone.email) == []


# --- Changes (story 5) --------------------------------------------------------------------------


def test_a_change_announcement_reaches_subscribers_of_an_affected_public_service(
    heard: list[Announcement], requester: User, vpn_service: Service, sso_service: Service
) -> None:
    vpn_follower = _subscriber("vpn.fan@example.org", [vpn_service])
    sso_follower = _subscriber("sso.fan@example.org", [sso_service])
    change = scheduled_change(requester, [vpn_service], a_week_ahead())
    row = change_announcements.plan(change, change_announcements.SCHEDULED)
    assert row is not None

    (announced,) = heard
    assert announced.kind == "change.scheduled"
    assert announced.key == f"change:{row.pk}"
    assert announced.audience == Visibility.PUBLIC
    assert announced.service_ids == (vpn_service.pk,)
    assert announced.thread == f"change/{change.number}"
    (mail,) = _mails_to(vpn_follower.email)
    assert mail.kind == "change.scheduled"
    assert "Firmware upgrade" in mail.payload["subject"]
    assert "When:" in mail.payload["text"]
    assert _mails_to(sso_follower.email) == []


@pytest.mark.parametrize(
    ("hidden", "audience"),
    [("payroll_service", Visibility.INTERNAL), ("security_service", None)],
)
def test_a_change_touching_a_hidden_service_is_not_mailed_to_the_public(
    request: pytest.FixtureRequest,
    heard: list[Announcement],
    requester: User,
    vpn_service: Service,
    hidden: str,
    audience: str | None,
) -> None:
    everyone = _subscriber(VISITOR)
    service = request.getfixturevalue(hidden)
    change = scheduled_change(requester, [vpn_service, service], a_week_ahead())
    change_announcements.plan(change, change_announcements.SCHEDULED)
    assert [a.audience for a in heard] == ([audience] if audience else [])
    assert _mails_to(everyone.email) == []


# --- The receiver -------------------------------------------------------------------------------


def _announcement(service: Service, *, key: str = "incident:1:update:1") -> Announcement:
    return Announcement(
        kind="incident.update",
        key=key,
        service_ids=(service.pk,),
        title="Update on INC-000001: VPN drops",
        body="A fix is rolling out.\nExpect it within the hour.",
        url="/incidents/INC-000001/",
        audience=Visibility.PUBLIC,
        thread="incident/INC-000001",
    )


def test_each_subscriber_gets_a_mail_with_their_own_unsubscribe_link(
    db: Any, vpn_service: Service
) -> None:
    first = _subscriber("first@example.org", [vpn_service])
    second = _subscriber("second@example.org")
    announce(_announcement(vpn_service))
    for subscriber in (first, second):
        (mail,) = _mails_to(subscriber.email)
        link = subscribers.unsubscribe_url(subscriber.pk)
        assert link in mail.payload["text"]
        assert link in mail.payload["html"]
        assert f"<{link}>" == mail.payload["headers"]["List-Unsubscribe"]
        assert mail.payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail.idempotency_key == f"status:incident:1:update:1:s{subscriber.pk}"
        assert "Expect it within the hour." in mail.payload["text"]


def test_titles_and_bodies_are_escaped_in_the_html_mail(db: Any, vpn_service: Service) -> None:
    subscriber = _subscriber(VISITOR)
    hostile = Announcement(
        **{
            **_announcement(vpn_service).__dict__,
            "title": "<script>alert(1)</script>",
            "body": "<img src=x onerror=alert(1)>",
        }
    )
    announce(hostile)
    (mail,) = _mails_to(subscriber.email)
    assert "<script>" not in mail.payload["html"]
    assert "<img" not in mail.payload["html"]
    assert "&lt;script&gt;" in mail.payload["html"]


def test_long_announcement_keys_are_hashed_to_fit_the_outbox(db: Any, vpn_service: Service) -> None:
    subscriber = _subscriber(VISITOR)
    long_key = "change:" + "9" * 120
    assert subscribers.mail_status_subscribers(_announcement(vpn_service, key=long_key)) == 1
    (mail,) = _mails_to(subscriber.email)
    assert len(mail.idempotency_key) <= 100
    assert mail.idempotency_key == subscribers.announcement_key(long_key, subscriber.pk)
    assert subscribers.announcement_key(long_key, subscriber.pk) != subscribers.announcement_key(
        long_key + "0", subscriber.pk
    )


def test_announcements_for_signed_in_people_are_not_mailed_to_subscribers(
    db: Any, vpn_service: Service
) -> None:
    subscriber = _subscriber(VISITOR)
    for audience in (Visibility.INTERNAL, Visibility.CONFIDENTIAL):
        announcement = Announcement(**{**_announcement(vpn_service).__dict__, "audience": audience})
        assert subscribers.mail_status_subscribers(announcement) == 0
    assert _mails_to(subscriber.email) == []


def test_mailing_subscribers_takes_the_same_queries_for_one_or_fifty(
    db: Any, vpn_service: Service, django_assert_max_num_queries: Any
) -> None:
    _subscriber("one@example.org", [vpn_service])
    with django_assert_max_num_queries(6) as one:
        assert subscribers.mail_status_subscribers(_announcement(vpn_service, key="a:1")) == 1
    for number in range(49):
        _subscriber(f"fan{number}@example.org", [vpn_service] if number % 2 else [])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert subscribers.mail_status_subscribers(_announcement(vpn_service, key="a:2")) == 50
