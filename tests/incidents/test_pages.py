"""The incident pages: the incident itself, its live fragment, every form on it, reporting and
"My incidents" — who sees what, what each post changes, and what a refused post leaves alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def _fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def _url(name: str, incident: Incident) -> str:
    return reverse(f"incidents:{name}", args=[incident.number])


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _visibility(agent: User, incident: Incident, level: str) -> Incident:
    return actions.do_update_incident(
        agent, incident, expected_version=incident.version, visibility=level
    )


@pytest.fixture
def public_incident(vpn_agent: User, vpn_incident: Incident) -> Incident:
    return _visibility(vpn_agent, vpn_incident, "public")


# --- Who may see the page -----------------------------------------------------------------------


@pytest.mark.parametrize("level", ["public", "internal", "confidential"])
@pytest.mark.parametrize(
    "who",
    ["reporter", "affected", "follower", "other_requester", "vpn_agent", "administrator"],
)
def test_the_page_and_its_fragment_answer_by_visibility(
    level: str,
    who: str,
    client_for: Any,
    make_person: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    administrator: User,
    vpn_incident: Incident,
) -> None:
    affected = make_person("affected@example.test", roles=[Role.REQUESTER])
    follower = make_person("follower@example.test", roles=[Role.REQUESTER])
    incident = _visibility(vpn_agent, vpn_incident, "public")
    actions.do_add_affected_user(vpn_agent, incident, affected)
    actions.do_follow(follower, incident)
    incident = _fresh(incident)
    if level != "public":
        incident = _visibility(vpn_agent, incident, level)
    people = {
        "reporter": requester,
        "affected": affected,
        "follower": follower,
        "other_requester": other_requester,
        "vpn_agent": vpn_agent,
        "administrator": administrator,
    }
    involved = who in {"reporter", "affected", "follower"}
    staff = who in {"vpn_agent", "administrator"}
    sees = staff or (level == "public") or (level == "internal" and involved)
    client = client_for(people[who])
    for name in ("detail", "timeline"):
        response = client.get(_url(name, incident))
        assert response.status_code == (200 if sees else 404), (name, who, level)
        if sees:
            assert incident.title in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(public_incident: Incident) -> None:
    for name in ("detail", "timeline"):
        response = Client().get(_url(name, public_incident))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign-in"))
    assert Client().post(_url("me-too", public_incident)).status_code == 302
    assert Client().get(reverse("incidents:mine")).status_code == 302
    assert Client().get(reverse("incidents:create")).status_code == 302


def test_an_unknown_number_is_a_404(client_for: Any, vpn_agent: User) -> None:
    assert client_for(vpn_agent).get("/incidents/INC-999999/").status_code == 404


# --- The page ---------------------------------------------------------------------------------


def test_work_notes_reach_staff_only_on_the_page_and_in_the_fragment(
    client_for: Any, requester: User, vpn_agent: User, vpn_incident: Incident
) -> None:
    actions.do_add_update(vpn_agent, vpn_incident, body="We are on it.", public=True)
    actions.do_add_update(vpn_agent, vpn_incident, body="Gateway vpn-gw-01 flaps", public=False)
    for name in ("detail", "timeline"):
        requester_html = client_for(requester).get(_url(name, vpn_incident)).content.decode()
        assert "We are on it." in requester_html
        assert "vpn-gw-01 flaps" not in requester_html
        assert "Work note" not in requester_html
        staff_html = client_for(vpn_agent).get(_url(name, vpn_incident)).content.decode()
        assert "We are on it." in staff_html
        assert "vpn-gw-01 flaps" in staff_html
        assert "timeline__entry--internal" in staff_html
        assert "Internal<span" in staff_html


def test_the_page_shows_the_record_and_a_readable_timeline(
    client_for: Any, requester: User, vpn_agent: User, network_team: Any, vpn_incident: Incident
) -> None:
    incident = actions.do_assign(vpn_agent, vpn_incident, expected_version=1, group=network_team)
    incident = actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, urgency=1
    )
    response = client_for(vpn_agent).get(_url("detail", incident))
    assert response.status_code == 200
    html = response.content.decode()
    assert_shell_rules(html)
    assert incident.number in html
    assert "<strong>VPN</strong>" in html  # the sanitised description
    assert "P3 Moderate" in html  # impact low, urgency high
    assert "Assigned to <strong>Network</strong>" in html
    assert "State New → <strong>Assigned</strong>" in html
    assert "Urgency Low → <strong>High</strong>" in html
    assert "Priority P5 → <strong>P3</strong>" in html
    assert "by Vpn Agent" in html
    # Staff see the SLA section only when the incident has clocks; the controls are theirs.
    assert 'action="' + _url("transition", incident) in html
    assert 'action="' + _url("assign", incident) in html
    # The requester sees the same record without the staff controls.
    requester_html = client_for(requester).get(_url("detail", incident)).content.decode()
    assert_shell_rules(requester_html)
    assert "Priority P5 → <strong>P3</strong>" in requester_html
    assert _url("assign", incident) not in requester_html
    assert _url("transition", incident) not in requester_html  # assigned: no cancel any more


def test_the_page_costs_the_same_queries_with_3_or_30_timeline_entries(
    client_for: Any, make_person: Any, vpn_agent: User, network_team: Any, vpn_incident: Incident
) -> None:
    client = client_for(vpn_agent)
    incident = actions.do_assign(
        vpn_agent, vpn_incident, expected_version=1, group=network_team, assignee=vpn_agent
    )

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url("detail", incident)).status_code == 200
        return len(queries)

    count()  # warm: the similar-incidents panel computes its corpus statistics once
    few = count()
    for n in range(9):
        person = make_person(f"p{n}@example.test", roles=[Role.REQUESTER])
        actions.do_add_affected_user(vpn_agent, incident, person)
        actions.do_add_update(person, incident, body=f"Still broken {n}", public=True)
        actions.do_add_update(vpn_agent, incident, body=f"Note {n}", public=False)
    assert TimelineEntry.objects.filter(incident=incident).count() >= 30
    assert count() == few


# --- Updates and work notes ---------------------------------------------------------------------


def test_a_requester_comments_and_an_empty_comment_changes_nothing(
    client_for: Any, requester: User, vpn_incident: Incident
) -> None:
    client = client_for(requester)
    before = TimelineEntry.objects.count()
    refused = client.post(_url("add-update", vpn_incident), {"update-body": "   "})
    assert refused.status_code == 400
    assert "Update" in refused.content.decode() or "Comment" in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    assert TimelineEntry.objects.count() == before
    posted = client.post(_url("add-update", vpn_incident), {"update-body": "Still down"})
    entry = TimelineEntry.objects.get(incident=vpn_incident, kind="public_update")
    assert posted.status_code == 302
    assert posted["Location"].endswith(f"#entry-{entry.pk}")
    assert (entry.body, entry.is_public, entry.author) == ("Still down", True, requester)


def test_a_requester_cannot_write_a_work_note(
    client_for: Any, requester: User, vpn_incident: Incident
) -> None:
    response = client_for(requester).post(
        _url("add-update", vpn_incident),
        {"update-body": "psst", "update-audience": "internal"},
    )
    assert response.status_code == 403
    assert not TimelineEntry.objects.filter(body="psst").exists()


def test_staff_write_work_notes_published_on_the_staff_stream_only(
    client_for: Any, vpn_agent: User, vpn_incident: Incident, capture_events: Any
) -> None:
    with capture_events() as events:
        response = client_for(vpn_agent).post(
            _url("add-update", vpn_incident),
            {"update-body": "Checking the gateway", "update-audience": "internal"},
        )
    assert response.status_code == 302
    entry = TimelineEntry.objects.get(kind="work_note")
    assert not entry.is_public
    assert [event.streams for event in events] == [["staff"]]


# --- Editing ------------------------------------------------------------------------------------


def _edit_data(incident: Incident, **changes: Any) -> dict[str, Any]:
    data = {
        "edit-title": incident.title,
        "edit-description": incident.description,
        "edit-service": incident.service.slug,
        "edit-configuration_item": "",
        "edit-category": incident.category,
        "edit-impact": incident.impact,
        "edit-urgency": incident.urgency,
        "edit-visibility": incident.visibility,
        "edit-version": incident.version,
    }
    data.update({f"edit-{name}": value for name, value in changes.items()})
    return data


def test_staff_edit_fields_and_a_stale_form_is_a_conflict_that_changes_nothing(
    client_for: Any, vpn_agent: User, vpn_incident: Incident
) -> None:
    client = client_for(vpn_agent)
    stale = _edit_data(vpn_incident, title="Stale title")
    saved = client.post(_url("edit", vpn_incident), _edit_data(vpn_incident, urgency=1))
    assert saved.status_code == 302
    incident = _fresh(vpn_incident)
    assert (incident.urgency, incident.priority, incident.version) == (1, 3, 2)
    entries = TimelineEntry.objects.count()
    conflict = client.post(_url("edit", vpn_incident), stale)
    assert conflict.status_code == 400
    assert "changed by someone else" in conflict.content.decode()
    assert "Stale title" in conflict.content.decode()  # the person's text is kept on the form
    assert _fresh(vpn_incident).title == vpn_incident.title
    assert TimelineEntry.objects.count() == entries


def test_an_edit_with_bad_input_shows_the_error_and_changes_nothing(
    client_for: Any, vpn_agent: User, vpn_incident: Incident
) -> None:
    response = client_for(vpn_agent).post(
        _url("edit", vpn_incident), _edit_data(vpn_incident, title="", urgency=1)
    )
    assert response.status_code == 400
    assert 'id="edit-error-title"' in response.content.decode()
    assert _fresh(vpn_incident).version == 1


def test_an_unchanged_edit_says_so(
    client_for: Any, vpn_agent: User, vpn_incident: Incident
) -> None:
    data = _edit_data(vpn_incident, description=vpn_incident.description.replace("\n", "\r\n"))
    response = client_for(vpn_agent).post(_url("edit", vpn_incident), data, follow=True)
    assert any("Nothing to save" in text for text in _messages(response))
    assert _fresh(vpn_incident).version == 1


def test_requesters_edit_title_and_description_of_their_new_incident_only(
    client_for: Any, requester: User, vpn_agent: User, network_team: Any, vpn_incident: Incident
) -> None:
    client = client_for(requester)
    response = client.post(
        _url("edit", vpn_incident),
        {"edit-title": "VPN drops at home", "edit-description": "Since 9am", "edit-version": 1},
    )
    assert response.status_code == 302
    assert _fresh(vpn_incident).title == "VPN drops at home"
    assigned = actions.do_assign(
        vpn_agent, _fresh(vpn_incident), expected_version=2, group=network_team
    )
    refused = client.post(
        _url("edit", vpn_incident),
        {"edit-title": "Again", "edit-description": "", "edit-version": assigned.version},
    )
    assert refused.status_code == 403
    assert _fresh(vpn_incident).title == "VPN drops at home"


# --- Lifecycle ----------------------------------------------------------------------------------


def _transition(incident: Incident, to: str, **fields: Any) -> dict[str, Any]:
    data = {"transition-to_state": to, "transition-version": incident.version}
    data.update({f"transition-{name}": value for name, value in fields.items()})
    return data


def test_staff_move_an_incident_through_its_lifecycle(
    client_for: Any, vpn_agent: User, network_team: Any, vpn_incident: Incident
) -> None:
    client = client_for(vpn_agent)
    incident = actions.do_assign(vpn_agent, vpn_incident, expected_version=1, group=network_team)
    page = client.get(_url("detail", incident)).content.decode()
    # Only the legal next states are offered.
    assert '<option value="in_progress">' in page and '<option value="new">' not in page
    refused = client.post(_url("transition", incident), _transition(incident, "resolved"))
    assert refused.status_code == 400
    assert "Resolving needs a resolution code" in refused.content.decode()
    assert _fresh(incident).state == "assigned"
    resolved = client.post(
        _url("transition", incident),
        _transition(
            incident, "resolved", resolution_code="solved", resolution_notes="Gateway replaced"
        ),
    )
    assert resolved.status_code == 302
    assert _fresh(incident).state == "resolved"
    stale = client.post(_url("transition", incident), _transition(incident, "closed"))
    assert stale.status_code == 400
    assert "changed by someone else" in stale.content.decode()
    assert _fresh(incident).state == "resolved"


def test_an_illegal_move_names_the_states_allowed(
    client_for: Any, vpn_agent: User, vpn_incident: Incident
) -> None:
    response = client_for(vpn_agent).post(
        _url("transition", vpn_incident), _transition(vpn_incident, "closed")
    )
    assert response.status_code == 400
    assert "From New it can go to" in response.content.decode()
    assert _fresh(vpn_incident).state == "new"


def test_requesters_cancel_their_new_incident_with_a_reason_and_nothing_else(
    client_for: Any, requester: User, other_requester: User, public_incident: Incident
) -> None:
    client = client_for(requester)
    page = client.get(_url("detail", public_incident)).content.decode()
    assert "Cancel this incident" in page
    for forbidden in ("resolved", "in_progress"):
        response = client.post(
            _url("transition", public_incident),
            _transition(public_incident, forbidden, resolution_code="solved", resolution_notes="x"),
        )
        assert response.status_code == 403
    other = client_for(other_requester).post(
        _url("transition", public_incident),
        _transition(public_incident, "cancelled", resolution_notes="Not mine"),
    )
    assert other.status_code == 403
    no_reason = client.post(
        _url("transition", public_incident), _transition(public_incident, "cancelled")
    )
    assert no_reason.status_code == 400
    assert "Cancelling needs a short reason" in no_reason.content.decode()
    assert _fresh(public_incident).state == "new"
    done = client.post(
        _url("transition", public_incident),
        _transition(public_incident, "cancelled", resolution_notes="It works again"),
    )
    assert done.status_code == 302
    cancelled = _fresh(public_incident)
    assert (cancelled.state, cancelled.resolution_notes) == ("cancelled", "It works again")


def test_requesters_reopen_their_resolved_incident(
    client_for: Any, requester: User, vpn_agent: User, network_team: Any, vpn_incident: Incident
) -> None:
    incident = actions.do_assign(vpn_agent, vpn_incident, expected_version=1, group=network_team)
    incident = actions.do_transition(
        vpn_agent,
        incident,
        "resolved",
        expected_version=incident.version,
        resolution_code="solved",
        resolution_notes="Restarted",
    )
    client = client_for(requester)
    page = client.get(_url("detail", incident)).content.decode()
    assert "Not fixed after all?" in page
    response = client.post(_url("transition", incident), _transition(incident, "in_progress"))
    assert response.status_code == 302
    assert _fresh(incident).state == "in_progress"
    # In progress is the desk's: the requester may not move it on.
    again = client.post(
        _url("transition", incident),
        _transition(_fresh(incident), "resolved", resolution_code="solved", resolution_notes="ok"),
    )
    assert again.status_code == 403


# --- Assignment ---------------------------------------------------------------------------------


def test_staff_assign_to_a_group_and_person(
    client_for: Any,
    make_person: Any,
    requester: User,
    vpn_agent: User,
    network_team: Any,
    vpn_incident: Incident,
) -> None:
    client = client_for(vpn_agent)
    outsider = make_person("outsider@example.test", roles=[Role.AGENT])
    data = {"assign-group": network_team.slug, "assign-version": 1}
    refused = client.post(_url("assign", vpn_incident), {**data, "assign-assignee": outsider.pk})
    assert refused.status_code == 400
    assert "is not a member of Network" in refused.content.decode()
    assert _fresh(vpn_incident).assignee is None
    done = client.post(_url("assign", vpn_incident), {**data, "assign-assignee": vpn_agent.pk})
    assert done.status_code == 302
    incident = _fresh(vpn_incident)
    assert (incident.assignment_group, incident.assignee, incident.state) == (
        network_team,
        vpn_agent,
        "assigned",
    )
    stale = client.post(_url("assign", vpn_incident), {**data, "assign-assignee": ""})
    assert stale.status_code == 400
    assert "changed by someone else" in stale.content.decode()
    assert _fresh(vpn_incident).assignee == vpn_agent
    forbidden = client_for(requester).post(
        _url("assign", vpn_incident),
        {"assign-group": network_team.slug, "assign-version": incident.version},
    )
    assert forbidden.status_code == 403


# --- Me too and following -----------------------------------------------------------------------


def test_me_too_makes_an_affected_follower_and_can_be_taken_back(
    client_for: Any, other_requester: User, public_incident: Incident, capture_events: Any
) -> None:
    client = client_for(other_requester)
    page = client.get(_url("detail", public_incident)).content.decode()
    assert "Me too" in page
    with capture_events() as events:
        response = client.post(_url("me-too", public_incident), {"affected": "yes"}, follow=True)
    assert any("You are affected" in text for text in _messages(response))
    assert AffectedUser.objects.filter(incident=public_incident, user=other_requester).exists()
    assert IncidentFollower.objects.filter(incident=public_incident, user=other_requester).exists()
    assert f"user:{other_requester.pk}" in events[0].streams
    assert "Not affected any more" in response.content.decode()
    twice = client.post(_url("me-too", public_incident), {"affected": "yes"}, follow=True)
    assert any("already affected" in text for text in _messages(twice))
    client.post(_url("me-too", public_incident), {"affected": "no"})
    assert not AffectedUser.objects.filter(incident=public_incident, user=other_requester).exists()
    assert IncidentFollower.objects.filter(incident=public_incident, user=other_requester).exists()


def test_me_too_on_an_incident_one_may_not_see_is_a_404(
    client_for: Any, other_requester: User, vpn_incident: Incident
) -> None:
    response = client_for(other_requester).post(_url("me-too", vpn_incident))
    assert response.status_code == 404
    assert not AffectedUser.objects.filter(user=other_requester).exists()


def test_follow_and_unfollow(
    client_for: Any, other_requester: User, public_incident: Incident
) -> None:
    client = client_for(other_requester)
    client.post(_url("follow", public_incident), {"follow": "yes"})
    assert IncidentFollower.objects.filter(incident=public_incident, user=other_requester).exists()
    page = client.get(_url("detail", public_incident)).content.decode()
    assert ">Unfollow</button>" in page
    response = client.post(_url("follow", public_incident), {"follow": "no"}, follow=True)
    assert any("no longer follow" in text for text in _messages(response))
    assert not IncidentFollower.objects.filter(
        incident=public_incident, user=other_requester
    ).exists()
    again = client.post(_url("follow", public_incident), {"follow": "no"}, follow=True)
    assert any("do not follow" in text for text in _messages(again))


# --- Reporting ----------------------------------------------------------------------------------


def test_the_report_form_shows_open_incidents_on_the_service_one_may_see(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
    public_incident: Incident,
) -> None:
    hidden = actions.do_create_incident(
        vpn_agent, title="Internal gateway alarm", description="", service=vpn_service
    )
    secret = actions.do_create_incident(
        vpn_agent, title="Phishing via VPN portal", description="", service=vpn_service
    )
    _visibility(vpn_agent, secret, "confidential")
    client = client_for(other_requester)
    page = client.get(reverse("incidents:create") + f"?service={vpn_service.slug}")
    html = page.content.decode()
    assert page.status_code == 200
    assert_shell_rules(html)
    assert f'<option value="{vpn_service.slug}" selected>' in html
    assert public_incident.title in html
    assert hidden.title not in html and secret.title not in html
    assert f'formaction="{_url("me-too", public_incident)}"' in html
    fragment = client.get(
        reverse("incidents:create"), {"service": vpn_service.slug, "part": "open-incidents"}
    ).content.decode()
    assert public_incident.title in fragment and hidden.title not in fragment
    # The reporter is already affected: no button, a note instead.
    mine = client_for(requester).get(reverse("incidents:create") + "?service=vpn").content
    assert "You are affected" in mine.decode()
    # Staff see every open incident of the service.
    staff = client_for(vpn_agent).get(reverse("incidents:create") + "?service=vpn").content
    assert secret.title in staff.decode()


def test_reporting_checks_the_form_then_creates_and_redirects(
    client_for: Any, requester: User, vpn_service: Service, security_service: Service
) -> None:
    client = client_for(requester)
    missing = client.post(reverse("incidents:create"), {"service": vpn_service.slug})
    assert missing.status_code == 400
    assert "This field is required" in missing.content.decode()
    hidden_service = client.post(
        reverse("incidents:create"),
        {"title": "x", "service": security_service.slug, "urgency": 1, "category": "other"},
    )
    assert hidden_service.status_code == 400
    assert not Incident.objects.exists()
    checked = client.post(
        reverse("incidents:create"),
        {"title": "Cannot connect", "service": vpn_service.slug, "check": "1"},
    )
    assert checked.status_code == 200
    assert 'value="Cannot connect"' in checked.content.decode()
    assert not Incident.objects.exists()
    created = client.post(
        reverse("incidents:create"),
        {
            "title": "Cannot connect",
            "description": "Error 809",
            "service": vpn_service.slug,
            "urgency": 1,
            "category": "network",
        },
    )
    incident = Incident.objects.get()
    assert created.status_code == 302
    assert created["Location"] == _url("detail", incident)
    assert (incident.reporter, incident.urgency, incident.impact, incident.source) == (
        requester,
        1,
        3,
        "web",
    )


def test_staff_report_for_someone_else_with_an_impact(
    client_for: Any, requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    client = client_for(vpn_agent)
    base = {"title": "Laptop stolen", "service": vpn_service.slug, "urgency": 2}
    unknown = client.post(
        reverse("incidents:create"), {**base, "category": "security", "reporter": "no@x.test"}
    )
    assert unknown.status_code == 400
    response = client.post(
        reverse("incidents:create"),
        {**base, "category": "security", "impact": 1, "reporter": requester.email},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert (incident.reporter, incident.impact, incident.priority) == (requester, 1, 2)


# --- My incidents -------------------------------------------------------------------------------


def test_my_incidents_tabs_and_open_or_closed(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
    network_team: Any,
    public_incident: Incident,
) -> None:
    mine = actions.do_create_incident(
        other_requester, title="Printer jams", description="", service=vpn_service
    )
    actions.do_add_affected_user(other_requester, public_incident, other_requester)
    followed = actions.do_create_incident(
        vpn_agent, title="Wi-Fi slow", description="", service=vpn_service
    )
    followed = _visibility(vpn_agent, followed, "public")
    actions.do_follow(other_requester, followed)
    done = actions.do_transition(
        other_requester, mine, "cancelled", expected_version=1, resolution_notes="fixed"
    )
    client = client_for(other_requester)

    def titles(**params: str) -> str:
        response = client.get(reverse("incidents:mine"), params)
        assert response.status_code == 200
        assert_shell_rules(response.content.decode())
        return response.content.decode()

    reported = titles()
    assert done.title not in reported  # cancelled: not open
    assert done.title in titles(status="closed")
    affecting = titles(tab="affecting")
    assert public_incident.title in affecting and followed.title not in affecting
    following = titles(tab="following")
    assert followed.title in following and public_incident.title in following
    assert 'aria-current="page">Following' in following
    assert done.title in titles(tab="nonsense", status="closed")  # unknown tab: the default


def test_my_incidents_pages_with_a_cursor(
    client_for: Any, requester: User, vpn_service: Service
) -> None:
    for n in range(27):
        actions.do_create_incident(
            requester, title=f"Issue number {n:02d}", description="", service=vpn_service
        )
    client = client_for(requester)
    first = client.get(reverse("incidents:mine"))
    rows = first.context["incidents"]
    assert len(rows) == 25 and first.context["next_url"]
    second = client.get(reverse("incidents:mine") + first.context["next_url"])
    assert len(second.context["incidents"]) == 2
    assert not {i.pk for i in rows} & {i.pk for i in second.context["incidents"]}
    assert second.context["next_url"] is None
    bad = client.get(reverse("incidents:mine"), {"cursor": "not-a-cursor"})
    assert bad.status_code == 200
    assert any("cursor is not valid" in text for text in _messages(bad))
    assert len(bad.context["incidents"]) == 25


def test_the_device_choices_follow_the_service(
    client_for: Any, requester: User, vpn_service: Service, sso_service: Service
) -> None:
    from hashdesk.catalog import actions as catalog_actions

    gateway = catalog_actions.do_create_configuration_item(
        None, service=vpn_service, name="vpn-gw-01", kind="network"
    )
    catalog_actions.do_create_configuration_item(
        None, service=sso_service, name="sso-idp-01", kind="server"
    )
    client = client_for(requester)
    page = client.get(reverse("incidents:create"), {"service": sso_service.slug}).content.decode()
    assert "sso-idp-01" in page and "vpn-gw-01" not in page
    fragment = client.get(
        reverse("incidents:create"), {"service": vpn_service.slug, "part": "open-incidents"}
    ).content.decode()
    assert "<template data-item-options>" in fragment and "vpn-gw-01" in fragment
    wrong = client.post(
        reverse("incidents:create"),
        {
            "title": "Login loops",
            "service": sso_service.slug,
            "configuration_item": gateway.pk,
            "urgency": 2,
            "category": "access",
        },
    )
    assert wrong.status_code == 400
    assert not Incident.objects.exists()
    right = client.post(
        reverse("incidents:create"),
        {
            "title": "VPN drops",
            "service": vpn_service.slug,
            "configuration_item": gateway.pk,
            "urgency": 2,
            "category": "network",
        },
    )
    assert right.status_code == 302
    assert Incident.objects.get().configuration_item == gateway


def test_every_kind_of_entry_reads_as_a_sentence(
    client_for: Any,
    make_person: Any,
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    public_incident: Incident,
) -> None:
    from hashdesk.incidents import linking, major

    colleague = make_person("bea@example.test", roles=[Role.REQUESTER], display_name="Bea")
    actions.do_add_affected_user(colleague, public_incident, colleague)
    duplicate = actions.do_create_incident(
        colleague, title="VPN down for me", description="", service=vpn_service
    )
    duplicate = _visibility(vpn_agent, duplicate, "public")
    related = _visibility(
        vpn_agent,
        actions.do_create_incident(vpn_agent, title="Wi-Fi", description="", service=vpn_service),
        "public",
    )
    linking.do_link(vpn_agent, public_incident, related, "related")
    linking.do_merge(vpn_agent, duplicate, _fresh(public_incident))
    major.do_declare_major(
        vpn_agent, _fresh(public_incident), reason="Everyone is offline", commander=vpn_agent
    )
    major.do_post_official_update(vpn_agent, _fresh(public_incident), body="Fix at 11:00")
    html = client_for(requester).get(_url("detail", public_incident)).content.decode()
    assert "Bea is affected too" in html
    assert f"Linked: this incident is related to <strong>{related.number}</strong>" in html
    assert f"<strong>{duplicate.number}</strong> merged into this incident" in html
    assert f"from {duplicate.number}" in html  # entries moved over by the merge say so
    assert "Declared a <strong>major incident</strong>, led by Vpn Agent" in html
    assert "(declared a major incident)" in html
    assert "timeline__entry--official" in html and "Fix at 11:00" in html
    assert "Major incident.</strong> Led by Vpn Agent." in html
    merged = client_for(colleague).get(_url("detail", duplicate)).content.decode()
    assert f"Merged into <strong>{public_incident.number}</strong>" in merged
    assert "This incident was merged into" in merged
