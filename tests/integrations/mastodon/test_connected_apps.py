"""The person's "connected apps" page: which Mastodon apps hold their tokens, and disconnecting."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.integrations.mastodon import actions

PAGE = "/mastodon/connected-apps/"


def _authorize(person: User, name: str, scope: str = "read write") -> Application:
    """What the OAuth flow leaves behind: a registered app holding a token of ``person``."""
    app = actions.do_register_app(
        client_name=name, redirect_uris="urn:ietf:wg:oauth:2.0:oob", ip="192.0.2.7"
    ).application
    access = AccessToken.objects.create(
        user=person,
        application=app,
        token=f"{name}-{person.pk}",
        expires=timezone.now() + timedelta(days=30),
        scope=scope,
    )
    RefreshToken.objects.create(
        user=person, application=app, token=f"refresh-{name}-{person.pk}", access_token=access
    )
    return app


def _signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_a_person_sees_the_apps_they_let_in_and_disconnects_one(
    requester: User, other_requester: User
) -> None:
    toots = _authorize(requester, "Toots", scope="read")
    _authorize(requester, "Ivory")
    _authorize(other_requester, "Elk")

    page = _signed_in(requester).get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Toots" in html and "Ivory" in html and "Elk" not in html
    assert "Read everything you can see" in html  # what the read scope allows, in words

    client = _signed_in(requester)
    answer = client.post(f"{PAGE}{toots.pk}/disconnect", follow=True)
    assert answer.redirect_chain[-1][0] == PAGE
    assert "no longer has access" in answer.content.decode()
    assert not AccessToken.objects.filter(user=requester, application=toots).exists()
    assert not RefreshToken.objects.filter(user=requester, application=toots).exists()
    assert AccessToken.objects.filter(user=requester).count() == 1  # Ivory keeps its access
    entry = AuditEntry.objects.get(action="mastodon.app_disconnected")
    assert entry.actor_id == requester.pk and entry.after["tokens"] == 1


def test_nobody_disconnects_an_app_from_someone_elses_account(
    requester: User, other_requester: User
) -> None:
    elk = _authorize(other_requester, "Elk")
    before = AccessToken.objects.count(), AuditEntry.objects.count()

    answer = _signed_in(requester).post(f"{PAGE}{elk.pk}/disconnect", follow=True)

    assert "This app has no access to your account." in answer.content.decode()
    assert (AccessToken.objects.count(), AuditEntry.objects.count()) == before


def test_the_page_needs_a_signed_in_person_and_disconnecting_needs_a_post(requester: User) -> None:
    app = _authorize(requester, "Toots")
    assert Client().get(PAGE).status_code == 302  # to the sign-in page
    assert _signed_in(requester).get(f"{PAGE}{app.pk}/disconnect").status_code == 405
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(requester)
    assert csrf_checked.post(f"{PAGE}{app.pk}/disconnect").status_code == 403
    assert AccessToken.objects.filter(user=requester).count() == 1
