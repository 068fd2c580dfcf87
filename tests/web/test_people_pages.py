"""People and teams pages: administrators manage them; others get 404 (people) or read (teams)."""

from __future__ import annotations

import pytest

from hashdesk.accounts import actions
from hashdesk.accounts.choices import Role, TeamRole
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import OutboxMessage
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db


def _add_people(count: int, *, start: int = 0) -> None:
    for number in range(start, start + count):
        actions.do_create_user(
            None,
            email=f"person{number}@example.test",
            display_name=f"Person {number:03}",
            roles=[Role.REQUESTER, Role.AGENT] if number % 2 else [Role.REQUESTER],
        )


# --- Who may open what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/accounts/people/", "/accounts/people/new/", "/accounts/teams/new/"],
)
def test_people_administration_is_not_there_for_a_requester(browser_for, requester, path):
    assert browser_for(requester).get(path).status_code == 404


def test_person_pages_are_404_for_an_agent(browser_for, vpn_agent, requester):
    browser = browser_for(vpn_agent)
    assert browser.get(f"/accounts/people/{requester.pk}/").status_code == 404
    response = browser.post(f"/accounts/people/{requester.pk}/active/")
    assert response.status_code == 404
    requester.refresh_from_db()
    assert requester.is_active


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/accounts/people/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_navigation_shows_people_only_to_administrators(browser_for, administrator, requester):
    admin_page = browser_for(administrator).get("/").content.decode()
    requester_page = browser_for(requester).get("/").content.decode()
    assert 'href="/accounts/people/"' in admin_page
    assert 'href="/accounts/people/"' not in requester_page
    assert 'href="/accounts/teams/"' in admin_page and 'href="/accounts/teams/"' in requester_page


# --- People list ----------------------------------------------------------------------------


def test_people_list_searches_and_filters(browser_for, administrator, requester, vpn_agent):
    browser = browser_for(administrator)
    page = browser.get("/accounts/people/")
    assert page.status_code == 200
    assert_shell_rules(page.content.decode())
    assert "requester@example.test" in page.content.decode()

    found = browser.get("/accounts/people/", {"q": "finance"}).content.decode()
    assert "requester@example.test" in found and "vpn.agent@example.test" not in found

    agents = browser.get("/accounts/people/", {"role": "agent"}).content.decode()
    assert "vpn.agent@example.test" in agents and "requester@example.test" not in agents

    actions.do_set_active(administrator, requester, active=False)
    inactive = browser.get("/accounts/people/", {"active": "inactive"}).content.decode()
    assert "requester@example.test" in inactive and "vpn.agent@example.test" not in inactive


def test_people_list_pages_by_fifty(browser_for, administrator):
    _add_people(55)
    browser = browser_for(administrator)
    first = browser.get("/accounts/people/").content.decode()
    assert "Person 000" in first and "Person 054" not in first
    second = browser.get("/accounts/people/", {"page": 2}).content.decode()
    assert "Person 054" in second and "Person 000" not in second


def test_people_list_query_count_does_not_grow_with_people(browser_for, administrator, query_count):
    browser = browser_for(administrator)
    _add_people(5)
    with query_count() as few:
        assert browser.get("/accounts/people/").status_code == 200
    _add_people(25, start=5)
    with query_count() as many:
        assert browser.get("/accounts/people/").status_code == 200
    assert len(many) == len(few)


# --- Creating and editing people ------------------------------------------------------------


def test_administrator_adds_a_person_who_gets_a_password_mail(browser_for, administrator):
    response = browser_for(administrator).post(
        "/accounts/people/new/",
        {
            "email": "New.Hire@Example.test",
            "display_name": "New Hire",
            "department": "Sales",
            "time_zone": "Europe/Berlin",
            "roles": ["requester", "agent"],
        },
    )
    person = User.objects.get(email="new.hire@example.test")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/people/{person.pk}/"
    assert person.roles == {"requester", "agent"} and person.department == "Sales"
    mail = OutboxMessage.objects.get()
    assert mail.payload["to"] == ["new.hire@example.test"]
    assert AuditEntry.objects.filter(action="user.create", object_id=str(person.pk)).exists()


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"email": "requester@example.test", "display_name": "Twin"}, "already exists"),
        ({"email": "not-an-email", "display_name": "X"}, "valid email"),
        ({"email": "x@example.test", "display_name": "X", "time_zone": "Mars/Base"}, "time"),
        ({"email": "x@example.test", "display_name": ""}, "required"),
    ],
)
def test_bad_new_person_shows_errors_and_changes_nothing(
    browser_for, administrator, requester, data, field_text
):
    people = User.objects.count()
    audit_rows = AuditEntry.objects.count()
    response = browser_for(administrator).post(
        "/accounts/people/new/", {"time_zone": "UTC", **data}
    )
    assert response.status_code == 400
    assert field_text in response.content.decode().lower()
    assert User.objects.count() == people and AuditEntry.objects.count() == audit_rows
    assert not OutboxMessage.objects.exists()


def test_administrator_edits_profile_and_roles(browser_for, administrator, requester):
    response = browser_for(administrator).post(
        f"/accounts/people/{requester.pk}/",
        {
            "display_name": "Rita Requester",
            "department": "Finance",
            "site": "Berlin",
            "time_zone": "UTC",
            "is_vip": "on",
            "roles": ["requester", "change_manager"],
        },
    )
    assert response.status_code == 302
    requester.refresh_from_db()
    assert requester.is_vip and requester.site == "Berlin"
    assert requester.roles == {"requester", "change_manager"}
    assert AuditEntry.objects.filter(action="user.roles", object_id=str(requester.pk)).exists()


def test_administrator_cannot_drop_own_admin_role_and_nothing_is_saved(browser_for, administrator):
    response = browser_for(administrator).post(
        f"/accounts/people/{administrator.pk}/",
        {"display_name": "Renamed", "time_zone": "UTC", "roles": ["requester"]},
    )
    assert response.status_code == 400
    assert "your own administrator role" in response.content.decode()
    administrator.refresh_from_db()
    assert administrator.display_name != "Renamed" and administrator.has_role("administrator")


def test_deactivation_asks_first_then_deactivates(browser_for, administrator, requester):
    browser = browser_for(administrator)
    confirm = browser.get(f"/accounts/people/{requester.pk}/active/")
    assert confirm.status_code == 200 and "Deactivate" in confirm.content.decode()
    requester.refresh_from_db()
    assert requester.is_active
    assert browser.post(f"/accounts/people/{requester.pk}/active/").status_code == 302
    requester.refresh_from_db()
    assert not requester.is_active
    browser.post(f"/accounts/people/{requester.pk}/active/")
    requester.refresh_from_db()
    assert requester.is_active


def test_person_page_lists_their_teams(browser_for, administrator, vpn_agent, network_team):
    page = browser_for(administrator).get(f"/accounts/people/{vpn_agent.pk}/")
    assert page.status_code == 200
    assert_shell_rules(page.content.decode())
    assert f'href="/accounts/teams/{network_team.slug}/"' in page.content.decode()


# --- Teams ------------------------------------------------------------------------------------


def test_requester_reads_teams_without_management_controls(
    browser_for, requester, vpn_agent, network_team
):
    browser = browser_for(requester)
    listing = browser.get("/accounts/teams/").content.decode()
    assert network_team.name in listing and "/accounts/teams/new/" not in listing
    detail = browser.get(f"/accounts/teams/{network_team.slug}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert vpn_agent.display_name in html and "Add a member" not in html
    response = browser.post(
        f"/accounts/teams/{network_team.slug}/members/",
        {"email": requester.email, "role": "member"},
    )
    assert response.status_code == 404
    assert not TeamMembership.objects.filter(user=requester).exists()


def test_teams_list_shows_member_count_and_lead(
    browser_for, administrator, vpn_agent, network_team
):
    TeamMembership.objects.filter(team=network_team, user=vpn_agent).delete()
    actions.do_add_team_member(None, network_team, vpn_agent, role=TeamRole.LEAD)
    actions.do_add_team_member(None, network_team, administrator)
    page = browser_for(administrator).get("/accounts/teams/")
    html = page.content.decode()
    assert_shell_rules(html)
    assert '<td data-label="Members">2</td>' in html
    assert vpn_agent.display_name in html


def test_administrator_creates_a_team_and_manages_members(browser_for, administrator, requester):
    browser = browser_for(administrator)
    assert browser.post("/accounts/teams/new/", {"name": "Service desk"}).status_code == 302
    team = Team.objects.get(slug="service-desk")
    response = browser.post(
        "/accounts/teams/service-desk/members/", {"email": "REQUESTER@example.test", "role": "lead"}
    )
    assert response.status_code == 302
    assert TeamMembership.objects.get(team=team, user=requester).role == TeamRole.LEAD
    page = browser.get("/accounts/teams/service-desk/").content.decode()
    assert_shell_rules(page)
    assert requester.display_name in page
    removed = browser.post(f"/accounts/teams/service-desk/members/{requester.pk}/remove/")
    assert removed.status_code == 302
    assert not TeamMembership.objects.filter(team=team).exists()
    assert AuditEntry.objects.filter(action="team.member_remove").count() == 1


@pytest.mark.parametrize(
    ("email", "message"),
    [("nobody@example.test", "no person with this email"), ("vpn.agent@example.test", "already")],
)
def test_bad_member_shows_error_on_the_email_field(
    browser_for, administrator, vpn_agent, network_team, email, message
):
    rows = AuditEntry.objects.count()
    response = browser_for(administrator).post(
        f"/accounts/teams/{network_team.slug}/members/", {"email": email, "role": "member"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert AuditEntry.objects.count() == rows


def test_duplicate_team_name_shows_error_and_creates_nothing(
    browser_for, administrator, network_team
):
    response = browser_for(administrator).post("/accounts/teams/new/", {"name": "network"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Team.objects.count() == 1
