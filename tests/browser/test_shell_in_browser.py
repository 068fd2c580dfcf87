"""Signed-in tours of the web shell in Chromium: every page, keyboard, phone width, dark mode,
and live updates over the real event server."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.notify.actions import do_notify

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(vpn_service: Service, sso_service: Service) -> Service:
    """VPN depends on single sign-on; a remote desktop depends on the VPN."""
    catalog_actions.do_add_dependency(None, vpn_service, sso_service)
    desktop = catalog_actions.do_create_service(None, name="Remote desktop", hashtag="rdp")
    catalog_actions.do_add_dependency(None, desktop, vpn_service)
    catalog_actions.do_create_configuration_item(
        None, service=vpn_service, name="vpn-gw-01", kind="network"
    )
    return vpn_service


def nav_paths(tab: Any) -> list[str]:
    return list(
        tab.page.eval_on_selector_all(
            ".primary-nav__link", "links => links.map(link => link.getAttribute('href'))"
        )
    )


def test_a_signed_in_tour_of_every_page_has_no_console_errors(
    open_tab: Any, administrator: User, catalogue: Service
) -> None:
    tab = open_tab()
    tab.sign_in(administrator)
    tab.wait_until_live()  # the WebSocket connected with the session: CSP connect-src allows it
    paths = nav_paths(tab)
    assert paths == [
        "/",
        "/wall/",
        "/incidents/",
        "/problems/",
        "/changes/",
        "/knowledge/",
        "/insights/candidates/",
        "/chat/",
        "/status/",
        "/catalogue/",
    ]
    pages = [
        *paths,
        "/accounts/teams/",
        "/accounts/people/",
        "/notifications/webhooks/",
        "/notifications/deliveries/",
        "/notifications/chat-tools/",
        "/notifications/preferences/",
        "/notifications/subscriptions/",
        f"/catalogue/{catalogue.slug}/",
        "/catalogue/vpn/dependencies/",
        "/catalogue/vpn/edit/",
        "/accounts/profile/",
        "/accounts/tokens/",
        "/notifications/",
        f"/accounts/people/{administrator.pk}/",
        "/accounts/people/new/",
        "/accounts/teams/new/",
        "/problems/new/",
        "/knowledge/drafts/",
        "/knowledge/review/",
        "/insights/bursts/",
        "/insights/sentiment/",
    ]
    for path in pages:
        response = tab.open(path)
        assert response.status == 200, path
        assert tab.page.locator("h1").count() == 1, path
        # Stylesheet applied (a CSP block would leave the browser's default white body).
        assert tab.page.evaluate("getComputedStyle(document.body).display") == "flex", path
    graph = tab.page.goto(f"{tab.base_url}/catalogue/{catalogue.slug}/")
    assert graph is not None
    assert tab.page.locator("svg.graph__svg .graph__node").count() == 3
    assert tab.console_errors == []


def test_the_keyboard_reaches_the_skip_link_and_focus_is_visible(
    open_tab: Any, requester: User, catalogue: Service
) -> None:
    tab = open_tab()
    tab.sign_in(requester)
    page = tab.page
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # shown on screen when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tabbing on from the top reaches the navigation with a visible focus ring.
    tab.open("/")
    for _ in range(3):
        page.keyboard.press("Tab")
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline[1] != "none" and outline[2] != "0px", outline
    # The account menu opens from the keyboard and Escape closes it, returning focus.
    page.locator(".avatar-button").focus()
    page.keyboard.press("Enter")
    assert page.locator("#user-panel").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#user-panel").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('avatar-button')")
    assert tab.console_errors == []


def test_phone_width_collapses_the_navigation_without_sideways_scrolling(
    open_tab: Any, administrator: User, catalogue: Service
) -> None:
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab.sign_in(administrator)
    for path in (
        "/",
        "/catalogue/",
        f"/catalogue/{catalogue.slug}/",
        "/accounts/tokens/",
        "/accounts/profile/",
        "/notifications/",
        "/catalogue/-/new/",
    ):
        tab.open(path)
        assert tab.no_horizontal_scroll(), path
    page = tab.page
    tab.open("/")
    nav = page.locator("#primary-nav")
    toggle = page.locator(".nav-toggle")
    assert toggle.is_visible() and not nav.is_visible()
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.get_by_role("link", name="Catalogue").click()
    page.wait_for_url(tab.base_url + "/catalogue/")
    assert not page.locator("#primary-nav").is_visible()  # closed again on the next page
    # The bell menu fits the screen.
    page.locator(".notifications-button").click()
    panel = page.locator("#notifications-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
    assert tab.no_horizontal_scroll()
    assert tab.console_errors == []


def luminance(tab: Any) -> float:
    rgb = tab.page.evaluate(
        "getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"
    )
    return sum(rgb) / (3 * 255)


def test_dark_mode_follows_the_system_and_the_toggle_sticks(open_tab: Any, requester: User) -> None:
    tab = open_tab(color_scheme="dark")
    tab.sign_in(requester)
    assert luminance(tab) < 0.2
    toggle = tab.page.locator("[data-theme-toggle]")
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert luminance(tab) > 0.8
    tab.open("/catalogue/")  # the choice is kept and applied before the first paint
    assert tab.page.evaluate("document.documentElement.dataset.theme") == "light"
    assert luminance(tab) > 0.8
    assert tab.page.locator("[data-theme-toggle]").get_attribute("aria-pressed") == "false"
    assert tab.console_errors == []


def test_the_bell_updates_live(open_tab: Any, requester: User) -> None:
    tab = open_tab()
    tab.sign_in(requester)
    tab.wait_until_live()
    badge = tab.page.locator("[data-unread-badge]")
    assert not badge.is_visible()
    with transaction.atomic():
        do_notify(requester, kind="test", title="Your VPN incident is resolved", url="/")
    tab.page.wait_for_selector("[data-unread-badge]:not([hidden])")
    assert badge.inner_text().startswith("1")
    tab.page.locator(".notifications-button").click()
    assert tab.page.get_by_role("link", name="Your VPN incident is resolved").is_visible()
    tab.page.get_by_role("button", name="Mark all read").click()
    tab.page.wait_for_selector("[data-unread-badge][hidden]", state="attached")
    assert tab.console_errors == []


def test_a_service_page_offers_a_reload_when_the_service_changes(
    open_tab: Any, requester: User, catalogue: Service
) -> None:
    tab = open_tab()
    tab.sign_in(requester)
    tab.open(f"/catalogue/{catalogue.slug}/")
    tab.wait_until_live()
    banner = tab.page.locator("[data-live-banner]")
    assert not banner.is_visible()
    # "live" means the welcome arrived, which answers the hello that named service:<id>.
    with transaction.atomic():
        catalog_actions.do_update_service(None, catalogue, criticality="critical")
    banner.wait_for(state="visible")
    assert "This service changed" in banner.inner_text()
    tab.page.get_by_role("link", name="Reload").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator(".badge--crit-critical").first.is_visible()
    assert tab.console_errors == []


def test_a_new_token_can_be_copied(open_tab: Any, requester: User) -> None:
    tab = open_tab(permissions=["clipboard-read", "clipboard-write"])
    tab.sign_in(requester)
    tab.open("/accounts/tokens/")
    tab.page.get_by_label("Name").fill("build server")
    tab.page.get_by_role("button", name="Create token").click()
    value = tab.page.locator("#new-token-value").inner_text()
    assert value.startswith("hd_")
    tab.page.get_by_role("button", name="Copy").click()
    tab.page.get_by_text("Copied").wait_for()
    assert tab.page.evaluate("navigator.clipboard.readText()") == value
    assert tab.console_errors == []
