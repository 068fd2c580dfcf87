"""The incident page, live in Chromium over the real event server: a requester and an agent
have the same incident open; what the agent does reaches both pages without a reload, and the
work note reaches only the agent's."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import Team, User
from hashdesk.incidents import actions
from hashdesk.incidents.models import Incident

pytestmark = pytest.mark.browser


@pytest.fixture
def incident(requester: User, vpn_service: Any) -> Incident:
    return actions.do_create_incident(
        requester,
        title="VPN drops every ten minutes",
        description="Since this morning.",
        service=vpn_service,
        category="network",
    )


def test_updates_arrive_live_and_work_notes_only_for_staff(
    open_tab: Any, requester: User, vpn_agent: User, network_team: Team, incident: Incident
) -> None:
    path = f"/incidents/{incident.number}/"
    mine = open_tab()
    mine.sign_in(requester)
    mine.open(path)
    mine.wait_until_live()
    desk = open_tab()
    desk.sign_in(vpn_agent)
    desk.open(path)
    desk.wait_until_live()
    # The requester starts a comment; nothing that arrives may wipe it.
    comment = mine.page.get_by_role("textbox", name="Comment")
    comment.fill("It dropped again at 10:05")

    with transaction.atomic():
        actions.do_add_update(vpn_agent, incident, body="We are looking into it.", public=True)
    with transaction.atomic():
        actions.do_add_update(vpn_agent, incident, body="Gateway vpn-gw-01 flaps", public=False)
    with transaction.atomic():
        actions.do_assign(
            vpn_agent, incident, expected_version=incident.version, group=network_team
        )

    timeline = mine.page.locator("[data-live-region='timeline']")
    timeline.get_by_text("We are looking into it.").wait_for()
    mine.page.locator(".incident-state", has_text="Assigned").wait_for()
    desk_timeline = desk.page.locator("[data-live-region='timeline']")
    desk_timeline.get_by_text("Gateway vpn-gw-01 flaps").wait_for()
    desk_timeline.get_by_text("We are looking into it.").wait_for()
    desk.page.locator(".incident-state", has_text="Assigned").wait_for()
    # By now the requester's page has had every event meant for it: the note is not there.
    assert "vpn-gw-01" not in mine.page.content()
    assert comment.input_value() == "It dropped again at 10:05"
    assert mine.page.locator("[data-live-announcer]").inner_text() != ""
    assert mine.page.locator(".timeline__entry--new").count() >= 1
    assert desk.page.locator(".timeline__entry--internal").count() == 1
    assert mine.console_errors == []
    assert desk.console_errors == []


def test_the_page_works_on_a_phone_without_sideways_scrolling(
    open_tab: Any, vpn_agent: User, incident: Incident
) -> None:
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab.sign_in(vpn_agent)
    for path in (f"/incidents/{incident.number}/", "/incidents/new/", "/incidents/mine/"):
        response = tab.open(path)
        assert response.status == 200, path
        assert tab.no_horizontal_scroll(), path
        assert tab.page.locator("h1").count() == 1, path
    assert tab.console_errors == []


def test_is_it_just_me_the_report_form_offers_me_too_before_a_duplicate(
    open_tab: Any,
    other_requester: User,
    vpn_agent: User,
    sso_service: Any,
    vpn_service: Any,
    incident: Incident,
) -> None:
    from hashdesk.catalog import actions as catalog_actions

    actions.do_update_incident(vpn_agent, incident, expected_version=1, visibility="public")
    catalog_actions.do_create_configuration_item(
        None, service=vpn_service, name="vpn-gw-01", kind="network"
    )
    catalog_actions.do_create_configuration_item(
        None, service=sso_service, name="sso-idp-01", kind="server"
    )
    tab = open_tab()
    tab.sign_in(other_requester)
    tab.open("/incidents/new/")
    page = tab.page
    assert not page.get_by_role("button", name="Check for open incidents first").is_visible()
    page.get_by_label("What is wrong?").fill("VPN keeps dropping")
    page.get_by_label("Service").select_option(vpn_service.slug)
    page.get_by_text("Is it just you? Open incidents on VPN").wait_for()
    assert page.get_by_role("link", name=incident.number).is_visible()
    devices = page.get_by_label("Device or system")
    page.wait_for_function(
        "document.querySelector(\"select[name='configuration_item']\").options.length === 2"
    )
    assert "vpn-gw-01" in devices.inner_text() and "sso-idp-01" not in devices.inner_text()
    page.get_by_role("button", name=f"Me too on {incident.number}").click()
    page.wait_for_url(f"{tab.base_url}/incidents/{incident.number}/")
    assert page.get_by_text(f"You are affected by {incident.number} too").is_visible()
    assert page.get_by_role("button", name="Not affected any more").is_visible()
    assert tab.console_errors == []
