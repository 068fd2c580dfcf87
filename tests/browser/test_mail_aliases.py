"""The mail alias pages in Chromium at phone and desk width: no sideways scrolling, an alias
added through the form, and a refused one explained next to its field."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.integrations.mail import actions
from hashdesk.integrations.mail.models import MailAlias

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_administrator_adds_an_alias_at_phone_and_desk_width(
    open_tab: Any, administrator: User, vpn_service: Service, width: int
) -> None:
    actions.do_create_alias(
        administrator,
        local_part="a-rather-long-alias-for-the-third-floor-printers-and-scanners",
        target="guess",
    )
    tab = open_tab(viewport={"width": width, "height": 800})
    tab.sign_in(administrator)
    tab.open("/integrations/mail/")
    tab.page.get_by_role("link", name="Mail aliases").click()
    assert tab.no_horizontal_scroll()
    tab.page.get_by_role("link", name="Add an alias").click()
    page = tab.page
    page.get_by_label("Address").fill(
        "A-RATHER-LONG-ALIAS-FOR-THE-THIRD-FLOOR-PRINTERS-AND-SCANNERS"
    )
    page.get_by_label("Guess from the mail").check()
    page.get_by_role("button", name="Add alias").click()
    assert page.locator(".error-summary").is_visible()
    assert "exists already" in page.locator(".error-summary").inner_text()
    assert tab.no_horizontal_scroll()
    page.get_by_label("Address").fill("printers-floor3")
    page.get_by_label("A service").check()
    page.get_by_label("Service (optional)").select_option(label="VPN")
    page.get_by_role("button", name="Add alias").click()
    assert "The alias printers-floor3@ is added." in page.locator(".messages").inner_text()
    assert tab.no_horizontal_scroll()
    assert MailAlias.objects.get(local_part="printers-floor3").service == vpn_service
    # The refused form is answered 400 (as every refused form); nothing else went wrong.
    assert [e for e in tab.console_errors if "status of 400" not in e] == []
