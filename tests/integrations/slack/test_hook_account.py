"""A hook's account authors what the hook posts, under the hook's name, and is no person: it is
in no list of people, cannot sign in by any path and is never notified."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import AccountKind
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Forbidden
from hashdesk.core.models import OutboxMessage
from hashdesk.core.visibility import visible_to
from hashdesk.integrations.mastodon import actions as mastodon_actions
from hashdesk.integrations.oidc import actions as oidc_actions
from hashdesk.integrations.oidc.config import OidcSettings
from hashdesk.integrations.oidc.models import OidcIdentity
from hashdesk.integrations.slack import actions
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.integrations.slack.models import IncomingWebhook
from hashdesk.integrations.slack.payload import SlackMessage
from hashdesk.notify.actions import do_notify
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Post
from tests.api.support import raw_token
from tests.conftest import PASSWORD
from tests.integrations.slack.support import make_hook

pytestmark = pytest.mark.django_db

HOOK_NAME = "VPN monitoring hook"


@pytest.fixture
def hook(administrator: User, vpn_service: Service) -> IncomingWebhook:
    made, _path = make_hook(administrator, vpn_service, name=HOOK_NAME)
    return made


@pytest.fixture
def hook_post(hook: IncomingWebhook) -> Post:
    posted = actions.do_post_hook_message(hook, SlackMessage(text="VPN gateway 2 is degraded"))
    return Post.objects.select_related("author").get(pk=posted)


def _signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _mastodon_token(person: User) -> str:
    """A read token of ``person`` for a registered Mastodon app, as the OAuth flow leaves one."""
    raw = secrets.token_urlsafe(32)
    app = mastodon_actions.do_register_app(
        client_name="Reader", redirect_uris="urn:ietf:wg:oauth:2.0:oob", ip="192.0.2.9"
    )
    AccessToken.objects.create(
        user=person,
        application=app.application,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope="read",
    )
    return raw


def test_the_account_is_an_integrations(hook: IncomingWebhook) -> None:
    bot = hook.bot
    assert bot.kind == AccountKind.INTEGRATION and not bot.is_person
    assert bot.display_name == HOOK_NAME and not bot.has_usable_password()


def test_it_is_in_no_list_of_people(
    hook: IncomingWebhook, administrator: User, requester: User
) -> None:
    bot = hook.bot
    # The one rule every list asks: not even an administrator sees it as a person.
    for viewer in (administrator, requester):
        assert not visible_to(viewer, User.objects.filter(pk=bot.pk)).exists()
    admin = _signed_in(administrator)
    page = admin.get(reverse("accounts:people"), {"q": "monitoring"})
    assert page.status_code == 200 and page.context["count"] == 0
    everyone = admin.get(reverse("accounts:people"))
    assert bot.pk not in {person.pk for person, _roles in everyone.context["rows"]}
    assert admin.get(reverse("accounts:person", args=[bot.pk])).status_code == 404
    # The people API and its search.
    token = _bearer(raw_token(administrator, "read"))
    found = Client().get("/api/v1/people", {"q": "monitoring"}, **token).json()
    assert found["items"] == []
    assert Client().get(f"/api/v1/people/{bot.pk}", **token).status_code == 404
    # The people export.
    export = admin.get("/integrations/transfer/export/people.csv")
    text = b"".join(export.streaming_content).decode()
    emails = {row["email"] for row in csv.DictReader(io.StringIO(text))}
    assert administrator.email in emails and bot.email not in emails
    # The instance's count of people, as Mastodon apps show it.
    instance = Client().get("/mastodon/api/v1/instance", **_bearer(_mastodon_token(requester)))
    people = User.objects.filter(is_active=True, kind=AccountKind.PERSON).count()
    assert instance.json()["stats"]["user_count"] == people


def test_a_mention_of_its_handle_stays_text_and_tells_no_one(
    hook: IncomingWebhook, requester: User
) -> None:
    handle = hook.bot.email.split("@", 1)[0]
    post = wall_actions.do_post(requester, body=f"@{handle} is the VPN down again?")
    assert not post.mentions.exists()
    assert 'class="mention"' not in post.body_html
    assert not Notification.objects.filter(recipient=hook.bot).exists()


def test_its_post_shows_its_name_on_the_wall_and_the_mastodon_api(
    hook_post: Post, requester: User, vpn_service: Service
) -> None:
    assert hook_post.author.display_name == HOOK_NAME
    page = _signed_in(requester).get(reverse("wall:service", args=[vpn_service.slug]))
    html = page.content.decode()
    assert HOOK_NAME in html
    # Its name is not a link to a person's page (there is none).
    assert reverse("wall:person", args=[hook_post.author_id]) not in html
    statuses = (
        Client()
        .get("/mastodon/api/v1/timelines/public", **_bearer(_mastodon_token(requester)))
        .json()
    )
    mine = [status for status in statuses if status["id"] == str(hook_post.pk)]
    assert mine and mine[0]["account"]["display_name"] == HOOK_NAME


def test_its_chat_message_shows_its_name(
    administrator: User, vpn_service: Service, vpn_agent: User
) -> None:
    room_hook, _path = make_hook(administrator, vpn_service, name=HOOK_NAME, target=HookTarget.ROOM)
    actions.do_post_hook_message(room_hook, SlackMessage(text="Failover finished"))
    room = room_hook.room
    assert room is not None
    token = _bearer(raw_token(administrator, "write"))
    Client().post(f"/api/v1/chat/rooms/{room.pk}/join", **token)
    history = Client().get(f"/api/v1/chat/rooms/{room.pk}/messages", **token)
    assert history.status_code == 200, history.content
    assert HOOK_NAME in history.content.decode()


def test_replies_to_its_post_notify_nobody(hook_post: Post, requester: User) -> None:
    emails_before = OutboxMessage.objects.count()
    wall_actions.do_post(requester, body="Same here since nine", reply_to=hook_post)
    assert not Notification.objects.filter(recipient=hook_post.author).exists()
    assert OutboxMessage.objects.count() == emails_before
    # Even a notice addressed to it directly is dropped.
    assert do_notify(hook_post.author, kind="wall.reply", title="Hello") is None


def test_it_cannot_sign_in_by_any_path(hook: IncomingWebhook, settings: Any) -> None:
    bot = hook.bot
    # A password, even one set behind the actions' back, does not open it.
    User.objects.filter(pk=bot.pk).update(password=make_password(PASSWORD))
    assert not Client().login(email=bot.email, password=PASSWORD)
    answer = Client().post(reverse("accounts:sign-in"), {"email": bot.email, "password": PASSWORD})
    assert "_auth_user_id" not in answer.client.session
    # A session it somehow holds is not honoured.
    session = Client()
    session.force_login(bot)
    assert session.get(reverse("accounts:tokens")).status_code == 302
    # Its API token and its Mastodon token do not authenticate.
    token = _bearer(raw_token(bot, "read"))
    assert Client().get("/api/v1/people", **token).status_code == 401
    verify = Client().get(
        "/mastodon/api/v1/accounts/verify_credentials", **_bearer(_mastodon_token(bot))
    )
    assert verify.status_code == 401
    # A single sign-on provider that vouches for its address is refused, and nothing is linked.
    config = OidcSettings(
        issuer="https://sso.example.test",
        client_id="hashdesk",
        client_secret="secret",
        scopes=("openid", "email"),
        groups_claim="groups",
        role_map=(),
        create_users=True,
        provider_name="SSO",
    )
    claims = {"sub": "hook", "email": bot.email, "email_verified": True}
    with pytest.raises(Forbidden):
        oidc_actions.do_sign_in_with_provider(config, claims)
    assert not OidcIdentity.objects.filter(user=bot).exists()
    # No reset mail either.
    assert account_actions.do_request_password_reset(bot.email) is False
