"""Story 3 on the status page, signed out, in Chromium over the real event server: a major
incident on single sign-on shows SSO down and its dependent degraded; the commander's official
update and then the resolution arrive without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions
from hashdesk.incidents.major import do_declare_major, do_post_official_update
from hashdesk.incidents.models import Incident

pytestmark = pytest.mark.browser


@pytest.fixture
def remote_desktop(sso_service: Service) -> Service:
    service = catalog_actions.do_create_service(
        None, name="Remote desktop", hashtag="rdp", visibility="public"
    )
    catalog_actions.do_add_dependency(None, service, sso_service)
    return service


@pytest.fixture
def sso_major(
    requester: User, vpn_agent: User, sso_service: Service, remote_desktop: Service
) -> Incident:
    incident = actions.do_create_incident(
        requester,
        title="Nobody can sign in",
        description="Every sign-in ends with an error page.",
        service=sso_service,
        category="access",
    )
    return do_declare_major(vpn_agent, incident, reason="Every sign-in fails.", commander=vpn_agent)


def test_story_3_major_incident_live_on_the_signed_out_status_page(
    open_tab: Any, vpn_agent: User, sso_major: Incident, eager_tasks: Any
) -> None:
    # eager_tasks: the task that sends the status events runs here, as the worker would.
    tab = open_tab()
    tab.open("/status/")
    page = tab.page
    sso = page.locator("[data-status-service='single-sign-on']")
    desktop = page.locator("[data-status-service='remote-desktop']")
    assert "Major outage" in sso.inner_text()
    assert "Degraded" in desktop.inner_text()
    assert "Depends on Single sign-on (major outage)" in desktop.inner_text()
    assert "Nobody can sign in" in page.locator("#status-incidents-title + ul").inner_text()
    # Signed out: no app navigation, but a live connection of its own.
    assert page.locator("#primary-nav").count() == 0
    page.wait_for_selector("[data-status-connected='true']", state="attached")

    with transaction.atomic():
        do_post_official_update(
            vpn_agent, sso_major, body="The identity provider's certificate was renewed."
        )
    page.get_by_text("The identity provider's certificate was renewed.").wait_for()
    assert "Official update" in page.locator(".status-incidents").inner_text()
    page.wait_for_function(
        "document.querySelector('[data-status-announcer]').textContent.includes('Major outage')"
    )

    fresh = Incident.objects.get(pk=sso_major.pk)
    with transaction.atomic():
        actions.do_transition(
            vpn_agent,
            fresh,
            "resolved",
            expected_version=fresh.version,
            resolution_code="solved",
            resolution_notes="Certificate renewed; sign-in works again.",
        )
    page.locator(".status-overall", has_text="All systems operational").wait_for()
    assert "Operational" in page.locator("[data-status-service='remote-desktop']").inner_text()
    assert page.locator("#status-incidents-title").count() == 0
    assert "All systems operational" in page.locator("[data-status-announcer]").inner_text()
    assert tab.console_errors == []


def test_the_status_page_fits_a_phone(open_tab: Any, sso_major: Incident) -> None:
    tab = open_tab(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for path in ("/status/", "/status/single-sign-on/", "/status/remote-desktop/"):
        response = tab.open(path)
        assert response.status == 200, path
        assert tab.no_horizontal_scroll(), path
    assert tab.console_errors == []
