"""The web shell: sign-in wall, navigation registry, security headers, error pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.core.visibility import is_administrator
from hashdesk.notify.actions import do_notify
from hashdesk.notify.models import Notification
from hashdesk.web import navigation
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:sign-in')}?next=/"


def test_home_greets_the_person_and_shows_only_built_sections(
    browser_for: Any, vpn_agent: Any, vpn_service: Any, sso_service: Any
) -> None:
    response = browser_for(vpn_agent).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hello, Vpn" in html
    assert "Network" in html  # the agent's team
    assert reverse("catalog:detail", args=[vpn_service.slug]) in html  # owned by their team
    assert "Single sign-on" in html  # critical services at a glance
    nav = [link.label for link in response.context["shell"].nav]
    assert nav == [
        "Home", "Wall", "Incidents", "Problems", "Changes", "Knowledge", "Insights", "Chat",
        "Status", "Catalogue",
    ]  # fmt: skip
    # Teams, webhooks and the delivery log are in the account menu, not the row of sections.
    account = [link.label for link in response.context["shell"].account_links]
    assert account == ["Teams", "Webhooks", "Delivery log", "Alerts to publish"]
    assert 'aria-current="page"' in html


def test_administration_is_in_the_account_menu_of_administrators_only(
    browser_for: Any, requester: Any, administrator: Any
) -> None:
    def account_menu(person: Any) -> list[str]:
        response = browser_for(person).get("/")
        return [link.label for link in response.context["shell"].account_links]

    assert account_menu(administrator) == [
        "Teams",
        "People",
        "Webhooks",
        "Delivery log",
        "Chat tools",
        "Integrations",
        "Alerts to publish",
    ]
    assert account_menu(requester) == ["Teams", "Webhooks", "Delivery log"]
    html = browser_for(administrator).get("/").content.decode()
    assert 'href="/notifications/chat-tools/"' in html


def test_a_registered_entry_appears_only_for_people_it_allows(
    browser_for: Any, requester: Any, administrator: Any
) -> None:
    entry = navigation.NavEntry(
        key="test-admin",
        label="Audit (test)",
        url_name="web:home",
        icon="people",
        order=95,
        allowed=is_administrator,
    )
    navigation.register(entry)
    try:
        assert "Audit (test)" in browser_for(administrator).get("/").content.decode()
        assert "Audit (test)" not in browser_for(requester).get("/").content.decode()
    finally:
        navigation._entries.pop(entry.key, None)


def test_pages_carry_a_strict_csp_and_no_inline_code(
    browser_for: Any, requester: Any, vpn_service: Any
) -> None:
    do_notify(requester, kind="test", title="Hello <script>alert(1)</script>", url="/catalogue/")
    client = browser_for(requester)
    for url in (
        "/",
        reverse("catalog:list"),
        reverse("catalog:detail", args=[vpn_service.slug]),
        reverse("accounts:profile"),
        reverse("accounts:tokens"),
        reverse("notify:list"),
        reverse("notify:menu"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response["X-Frame-Options"] == "DENY"
        html = response.content.decode()
        assert_shell_rules(html)
        assert "<script>alert(1)</script>" not in html  # auto-escaped
    for url in (
        reverse("accounts:sign-in"),
        reverse("accounts:password-reset"),
        reverse("accounts:password-reset-sent"),
    ):
        response = Client().get(url)
        assert response.status_code == 200, url
        assert_shell_rules(response.content.decode())


def test_the_shell_links_the_event_server_only_for_signed_in_people(
    browser_for: Any, requester: Any, settings: Any
) -> None:
    settings.EVENTS_PUBLIC_URL = "ws://127.0.0.1:9/ws/"
    html = browser_for(requester).get("/").content.decode()
    assert 'data-events-url="ws://127.0.0.1:9/ws/"' in html
    assert "data-last-event-id=" in html
    assert "data-events-url" not in Client().get(reverse("accounts:sign-in")).content.decode()


def test_the_bell_shows_unread_notifications(browser_for: Any, requester: Any) -> None:
    do_notify(requester, kind="test", title="Your change was approved", url="/")
    do_notify(requester, kind="test", title="Phishing link", url="javascript:alert(1)")
    response = browser_for(requester).get("/")
    assert response.context["shell"].unread_count == 2
    html = response.content.decode()
    assert "Your change was approved" in html
    assert 'href="javascript:' not in html  # stored links are never rendered as script URLs


def test_unknown_pages_and_forbidden_pages_use_the_shell(browser_for: Any, requester: Any) -> None:
    client = browser_for(requester)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
    assert_shell_rules(missing.content.decode())
    forbidden = client.get(reverse("catalog:create"))
    assert forbidden.status_code == 403
    assert "Only administrators can change the service catalogue." in forbidden.content.decode()


def test_posts_without_a_csrf_token_are_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("accounts:sign-in"), {"email": "a@example.test", "password": "x"}
    )
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_times_are_shown_in_the_persons_time_zone(browser_for: Any, requester: Any) -> None:
    from hashdesk.accounts.actions import do_update_profile

    notification = do_notify(requester, kind="test", title="Maintenance tonight")
    Notification.objects.filter(pk=notification.pk).update(
        created_at=datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    )
    client = browser_for(requester)
    assert "1 Jan 2025, 00:30" in client.get(reverse("notify:list")).content.decode()
    do_update_profile(requester, requester, time_zone="Asia/Tokyo")
    assert "1 Jan 2025, 09:30" in client.get(reverse("notify:list")).content.decode()


def test_the_server_error_page_renders_without_a_request() -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert_shell_rules(html)
