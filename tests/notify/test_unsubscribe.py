"""One-click unsubscribe (RFC 8058) from notification mails: no sign-in, no CSRF token for the
mail client's POST, only the signed token; bad tokens change nothing."""

from __future__ import annotations

import json
import time
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core import outbox
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.email import notice_email
from hashdesk.notify.models import Notification, NotificationPreference
from hashdesk.notify.preferences import preferences_for
from hashdesk.notify.unsubscribe import (
    UNSUBSCRIBE_MAX_AGE,
    UNSUBSCRIBE_SALT,
    unsubscribe_token,
    unsubscribe_url,
)
from tests.servers import SmtpServer

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _path(token: str) -> str:
    return f"/notifications/unsubscribe/{token}/"


def _email_on(person: User, category: str) -> bool:
    return Channel.EMAIL in preferences_for([person.pk])[person.pk][category].channels


@pytest.fixture
def mail_client() -> Client:
    """What a mail client or provider sends: no session, and CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def test_one_click_from_a_received_mail_stops_that_category_for_that_person_only(
    smtp_server: SmtpServer,
    settings: Any,
    requester: User,
    other_requester: User,
    mail_client: Client,
) -> None:
    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    notification = Notification.objects.create(
        recipient=requester,
        kind="change.scheduled",
        title="A change to VPN is scheduled",
        url="/changes/CHG-000001/",
    )
    outbox.enqueue_many([notice_email(notification, requester)])
    outbox.deliver_due()
    (envelope,) = smtp_server.mailbox.envelopes
    mail = message_from_bytes(envelope.original_content or b"", policy=policy.default)
    link = str(mail["List-Unsubscribe"]).strip().strip("<>")

    response = mail_client.post(
        urlsplit(link).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert b"Unsubscribed" in response.content
    assert not _email_on(requester, Category.CHANGES)
    assert _email_on(requester, Category.INCIDENTS)  # other categories keep their email
    assert _email_on(other_requester, Category.CHANGES)  # other people are untouched
    entry = AuditEntry.objects.get(action="notify.email_unsubscribe")
    assert entry.object_id == str(requester.pk)
    assert entry.actor is None
    assert entry.before == {"categories": {"changes": ["email"]}}
    assert entry.after == {"categories": {"changes": []}, "via": "one-click"}


def test_unsubscribing_keeps_the_other_channels_and_the_rhythm(
    requester: User, mail_client: Client
) -> None:
    NotificationPreference.objects.create(
        user=requester,
        category=Category.MENTIONS,
        channels=[Channel.EMAIL, Channel.WEBHOOK],
        digest=Digest.DAILY,
    )

    response = mail_client.post(
        _path(unsubscribe_token(requester.pk, [Category.MENTIONS])), ONE_CLICK
    )

    assert response.status_code == 200
    row = NotificationPreference.objects.get(user=requester, category=Category.MENTIONS)
    assert row.channels == [Channel.WEBHOOK]
    assert row.digest == Digest.DAILY


def test_a_digest_token_stops_every_category_it_names(requester: User, mail_client: Client) -> None:
    token = unsubscribe_token(requester.pk, [Category.MAJOR, Category.PROBLEMS])

    mail_client.post(_path(token), ONE_CLICK)

    assert not _email_on(requester, Category.MAJOR)
    assert not _email_on(requester, Category.PROBLEMS)
    assert _email_on(requester, Category.INCIDENTS)


def test_the_link_shows_what_will_stop_and_changes_nothing_until_confirmed(
    requester: User, client: Client
) -> None:
    response = client.get(_path(unsubscribe_token(requester.pk, [Category.MAJOR])))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe from these emails?" in page
    assert "Major incidents" in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert response["Cache-Control"].startswith("max-age=0")
    assert _email_on(requester, Category.MAJOR)  # a mail scanner following the link stops nothing


def test_the_pages_button_unsubscribes_with_its_csrf_token(
    requester: User, mail_client: Client
) -> None:
    path = _path(unsubscribe_token(requester.pk, [Category.MAJOR]))
    page = mail_client.get(path)
    csrf = page.context["csrf_token"]

    response = mail_client.post(path, {"csrfmiddlewaretoken": str(csrf)})

    assert response.status_code == 200
    assert "Hashdesk no longer emails" in response.content.decode()
    assert not _email_on(requester, Category.MAJOR)
    entry = AuditEntry.objects.get(action="notify.email_unsubscribe")
    assert entry.after is not None and entry.after["via"] == "unsubscribe page"


def test_a_post_that_is_neither_one_click_nor_carries_a_csrf_token_is_refused(
    requester: User, mail_client: Client
) -> None:
    response = mail_client.post(_path(unsubscribe_token(requester.pk, [Category.MAJOR])), {})

    assert response.status_code == 403
    assert _email_on(requester, Category.MAJOR)


def test_unsubscribing_twice_changes_and_records_once(requester: User, mail_client: Client) -> None:
    path = _path(unsubscribe_token(requester.pk, [Category.ACCOUNT]))

    mail_client.post(path, ONE_CLICK)
    again = mail_client.post(path, ONE_CLICK)

    assert again.status_code == 200
    assert "were already off" in again.content.decode()
    assert AuditEntry.objects.filter(action="notify.email_unsubscribe").count() == 1


class _LongAgo(signing.TimestampSigner):
    def timestamp(self) -> str:
        old = time.time() - UNSUBSCRIBE_MAX_AGE.total_seconds() - 3600
        return signing.b62_encode(int(old))


def _payload(value: Any) -> str:
    return signing.b64_encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def _forged_tokens(person: User) -> dict[str, str]:
    good = unsubscribe_token(person.pk, [Category.MAJOR])
    other_salt = signing.dumps([person.pk, ["major"]], salt="hashdesk.something.else")
    return {
        "tampered signature": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "someone else's id": ":".join(
            [_payload([person.pk + 1000, ["major"]]), *good.split(":")[1:]]
        ),
        "another salt": other_salt,
        "garbage": "not-a-token",
        "expired": _LongAgo(salt=UNSUBSCRIBE_SALT).sign_object([person.pk, ["major"]]),
        "unknown category": signing.dumps([person.pk, ["everything"]], salt=UNSUBSCRIBE_SALT),
        "no category": signing.dumps([person.pk, []], salt=UNSUBSCRIBE_SALT),
        "wrong shape": signing.dumps({"user": person.pk}, salt=UNSUBSCRIBE_SALT),
    }


@pytest.mark.parametrize(
    "case",
    [
        "tampered signature",
        "someone else's id",
        "another salt",
        "garbage",
        "expired",
        "unknown category",
        "no category",
        "wrong shape",
    ],
)
def test_a_bad_token_answers_400_and_changes_nothing(
    requester: User, mail_client: Client, case: str
) -> None:
    token = _forged_tokens(requester)[case]

    shown = mail_client.get(_path(token))
    posted = mail_client.post(_path(token), ONE_CLICK)

    assert shown.status_code == posted.status_code == 400
    assert "This unsubscribe link does not work" in posted.content.decode()
    assert "Nothing was changed" in posted.content.decode()
    assert _email_on(requester, Category.MAJOR)
    assert not NotificationPreference.objects.exists()
    assert not AuditEntry.objects.filter(action="notify.email_unsubscribe").exists()


def test_a_deactivated_persons_token_no_longer_works(requester: User, mail_client: Client) -> None:
    token = unsubscribe_token(requester.pk, [Category.MAJOR])
    User.objects.filter(pk=requester.pk).update(is_active=False)

    assert mail_client.post(_path(token), ONE_CLICK).status_code == 400
    assert not NotificationPreference.objects.exists()


def test_only_get_and_post_are_answered(requester: User, client: Client) -> None:
    path = _path(unsubscribe_token(requester.pk, [Category.MAJOR]))
    assert client.put(path).status_code == 405
    assert client.delete(path).status_code == 405


def test_the_unsubscribe_url_is_absolute_on_the_public_address(settings: Any) -> None:
    settings.PUBLIC_URL = "https://desk.example.test"
    assert unsubscribe_url(7, [Category.MAJOR]).startswith(
        "https://desk.example.test/notifications/unsubscribe/"
    )
    with pytest.raises(ValueError, match="at least one category"):
        unsubscribe_token(7, [])
