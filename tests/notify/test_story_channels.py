"""Stories 3 and 5 of PRODUCT.md through every channel at once, against real servers: the
in-app notification centre, email to a real SMTP server (aiosmtpd) for a person and for an
anonymous status-page subscriber, a signed webhook to a real HTTP receiver, and chat tools
(apprise) posting to the same receiver, both a person's own chat tool and a service's channel.

The other tests of tests/notify cover each channel's details; this one shows that one action
reaches everyone, each exactly once, and that a second delivery run sends nothing again.
"""

from __future__ import annotations

import email
from email.message import Message
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.changes import announcements as change_announcements
from hashdesk.core.models import OutboxMessage, OutboxStatus
from hashdesk.core.outbox import deliver_all_due
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import major
from hashdesk.notify.chat_tools import do_create_chat_tool
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.models import Notification
from hashdesk.notify.preferences import QuietHours, do_save_preferences
from hashdesk.notify.webhooks import do_create_webhook
from hashdesk.status.models import StatusSubscriber
from hashdesk.wall import actions as wall_actions
from tests.changes.comms_support import a_week_ahead, scheduled_change
from tests.notify.receivers import WebhookReceiver, allow_loopback, webhook_receiver  # noqa: F401
from tests.servers import SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "visitor@example.org"


@pytest.fixture
def remote_desktop(sso_service: Service) -> Service:
    """A public service that depends on single sign-on: an SSO outage degrades it."""
    service = catalog_actions.do_create_service(
        None, name="Remote desktop", hashtag="rdp", visibility=Visibility.PUBLIC
    )
    catalog_actions.do_add_dependency(None, service, sso_service)
    return service


@pytest.fixture
def wired(
    settings: Any,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,  # noqa: F811
    allow_loopback: Any,  # noqa: F811
    administrator: User,
    requester: User,
    sso_service: Service,
    remote_desktop: Service,
) -> dict[str, Any]:
    """A requester following the dependent service with every channel on for major incidents
    and changes; an anonymous subscriber; a chat channel for single sign-on."""
    for key, value in smtp_server.settings().items():
        setattr(settings, key, value)
    wall_actions.do_follow(requester, "service", remote_desktop)
    endpoint, secret = do_create_webhook(
        requester, "My automation", webhook_receiver.url("/hook"), [Category.MAJOR]
    )
    webhook_receiver.secret = secret
    personal_tool = do_create_chat_tool(
        administrator,
        name="Team chat",
        apprise_url=f"json://127.0.0.1:{webhook_receiver.port}/personal",
        offered_to_people=True,
    )
    do_create_chat_tool(
        administrator,
        name="#it-status",
        apprise_url=f"json://127.0.0.1:{webhook_receiver.port}/channel",
        services=[sso_service, remote_desktop],
        categories=[Category.MAJOR, Category.CHANGES],
    )
    everything = [Channel.EMAIL, Channel.WEBHOOK, Channel.CHAT]
    do_save_preferences(
        requester,
        choices={
            Category.MAJOR: (everything, Digest.IMMEDIATE),
            Category.CHANGES: ([Channel.EMAIL, Channel.CHAT], Digest.IMMEDIATE),
        },
        quiet=QuietHours(None, None),
        chat_tool_id=personal_tool.pk,
        chat_handle="sam",
    )
    StatusSubscriber.objects.create(email=VISITOR, confirmed_at=timezone.now())
    # Setting up sent mail of its own (the administrator's tool notices): start from nothing.
    deliver_all_due()
    smtp_server.mailbox.envelopes.clear()
    webhook_receiver.requests.clear()
    return {"endpoint": endpoint}


def _mails(smtp_server: SmtpServer, address: str) -> list[Message]:
    return [
        email.message_from_bytes(envelope.original_content or b"")
        for envelope in smtp_server.mailbox.envelopes
        if address in envelope.rcpt_tos
    ]


def _posted(receiver: WebhookReceiver, path: str) -> list[Any]:
    return [request for request in receiver.requests if request.path == path]


def _deliver_everything() -> None:
    report = deliver_all_due()
    assert report.failed == [] and report.retrying == []
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


def test_story_3_a_major_incident_reaches_every_channel(
    wired: dict[str, Any],
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,  # noqa: F811
    requester: User,
    other_requester: User,
    vpn_agent: User,
    sso_service: Service,
) -> None:
    with transaction.atomic():
        incident = incident_actions.do_create_incident(
            other_requester,
            title="Nobody can sign in",
            description="The sign-in page times out.",
            service=sso_service,
        )
    incident = major.do_declare_major(
        vpn_agent, incident, reason="Every sign-in fails.", commander=vpn_agent
    )
    _deliver_everything()
    major.do_post_official_update(
        vpn_agent, incident, body="The identity provider is restarting; sign-ins resume by 10:30."
    )
    _deliver_everything()

    # In the app: the follower of the dependent service heard both.
    kinds = list(
        Notification.objects.filter(recipient=requester)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["incident.major_declared", "incident.official_update"]

    # By email: the person and the anonymous subscriber, threaded on the incident.
    personal = _mails(smtp_server, requester.email)
    assert len(personal) == 2
    assert "sign-ins resume by 10:30" in personal[1].as_string()
    assert personal[0]["References"] == personal[1]["References"]
    assert personal[1]["List-Unsubscribe"]
    public = _mails(smtp_server, VISITOR)
    assert len(public) == 2
    assert public[1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # By webhook: signed, one per notification, with the delivery's idempotency key.
    hooks = _posted(webhook_receiver, "/hook")
    assert [hook.json()["type"] for hook in hooks] == [
        "incident.major_declared",
        "incident.official_update",
    ]
    assert all(hook.signature_valid for hook in hooks)
    assert len({hook.header("Hashdesk-Delivery") for hook in hooks}) == 2

    # By chat tools: the person's own tool mentions them; the service's channel hears both.
    personal_chat = _posted(webhook_receiver, "/personal")
    assert len(personal_chat) == 2 and "@sam" in personal_chat[1].body.decode()
    channel = _posted(webhook_receiver, "/channel")
    assert len(channel) == 2
    assert "sign-ins resume by 10:30" in channel[1].body.decode()

    # The resolution reaches them all too, and running the deliverer again sends nothing twice.
    incident.refresh_from_db()
    incident_actions.do_transition(
        vpn_agent,
        incident,
        "resolved",
        expected_version=incident.version,
        resolution_code="solved",
        resolution_notes="The identity provider is back.",
    )
    _deliver_everything()
    deliver_all_due()
    assert len(_mails(smtp_server, requester.email)) == 3
    assert len(_mails(smtp_server, VISITOR)) == 3
    assert len(_posted(webhook_receiver, "/hook")) == 3
    assert len(_posted(webhook_receiver, "/personal")) == 3
    assert len(_posted(webhook_receiver, "/channel")) == 3


def test_story_5_a_change_announcement_reaches_every_channel(
    wired: dict[str, Any],
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,  # noqa: F811
    requester: User,
    change_manager: User,
    remote_desktop: Service,
) -> None:
    change = scheduled_change(
        change_manager,
        [remote_desktop],
        a_week_ahead(),
        summary="Firmware upgrade of the remote desktop gateway",
    )
    with transaction.atomic():
        assert change_announcements.plan(change, change_announcements.SCHEDULED) is not None
    _deliver_everything()

    (notice,) = Notification.objects.filter(recipient=requester, kind="change.scheduled")
    assert "Firmware upgrade" in notice.title
    (mail,) = _mails(smtp_server, requester.email)
    assert "Firmware upgrade" in mail["Subject"]
    (public,) = _mails(smtp_server, VISITOR)
    assert "Firmware upgrade" in public["Subject"]
    (personal_chat,) = _posted(webhook_receiver, "/personal")
    assert "@sam" in personal_chat.body.decode()
    (channel,) = _posted(webhook_receiver, "/channel")
    assert "Firmware upgrade" in channel.body.decode()
    # Webhooks were chosen for major incidents only.
    assert _posted(webhook_receiver, "/hook") == []
