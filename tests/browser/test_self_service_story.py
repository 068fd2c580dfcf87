"""Story 4, the self-service half, in Chromium: with a published known error, a requester who
starts reporting a matching incident sees the workaround while typing, clicks "This solved it
for me" — no incident is created, the form is cleared with a confirmation — and the deflection
shows on the staff deflection page for that service and article.
"""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.incidents.models import Incident
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.models import Deflection
from hashdesk.problems.actions import do_create_problem, do_update_problem
from hashdesk.problems.known_errors import do_publish_known_error
from hashdesk.problems.models import Problem

pytestmark = pytest.mark.browser

WORKAROUND = "Connect with the wired network, or run vpn --keepalive 60 before connecting."


def test_story_4_a_known_error_deflects_a_ticket(
    open_tab: Any, problem_manager: User, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    problem = do_create_problem(
        problem_manager,
        title="VPN drops every 10 minutes on Wi-Fi",
        description="The VPN client disconnects every ten minutes on Wi-Fi.",
        service_ids=[vpn_service.pk],
    )
    problem = do_update_problem(
        problem_manager,
        problem,
        expected_version=problem.version,
        root_cause="The Wi-Fi controller drops idle VPN sessions.",
        workaround=WORKAROUND,
    )
    problem = do_publish_known_error(problem_manager, problem)
    article = Problem.objects.get(pk=problem.pk).known_error_article
    assert article is not None

    tab = open_tab()
    tab.sign_in(requester)
    tab.open("/incidents/new/")
    page = tab.page
    page.get_by_label("Service").select_option(vpn_service.slug)
    page.locator("#id_title").fill("VPN drops every 10 minutes")
    page.locator("#id_description").fill("On Wi-Fi my VPN disconnects every ten minutes.")
    page.get_by_text("vpn --keepalive 60").first.wait_for()
    page.get_by_role("button", name="This solved it for me").first.click()
    page.get_by_text("Glad that helped").wait_for()
    assert page.locator("#id_title").input_value() == ""
    assert page.locator("#id_description").input_value() == ""

    assert not Incident.objects.filter(reporter=requester).exists()
    found = Deflection.objects.get(person=requester)
    assert (found.context, found.kind, found.article_id, found.service_id) == (
        "incident",
        ItemKind.KNOWN_ERROR,
        article.pk,
        vpn_service.pk,
    )
    assert "VPN drops" in found.text

    staff = open_tab()
    staff.sign_in(vpn_agent)
    staff.open("/insights/deflection/")
    services = staff.page.locator('[data-deflection-table="service"]')
    row = services.get_by_role("row").filter(has_text=vpn_service.name)
    assert row.get_by_role("cell").nth(1).inner_text().startswith("1")
    articles = staff.page.locator('[data-deflection-table="article"]')
    assert articles.get_by_role("row").filter(has_text=article.title).count() == 1
    assert staff.page.locator("[data-deflection-total]").inner_text() == "1"
    assert staff.no_horizontal_scroll()
    assert tab.console_errors == [] and staff.console_errors == []
