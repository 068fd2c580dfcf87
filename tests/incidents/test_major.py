"""The major-incident process: declare, official updates, reminders, resolution, stand-down, the
banner, the API and the pages (docs/incidents.md, "Major incidents")."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import engines
from django.test import Client, RequestFactory
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.incidents import actions, linking, major
from hashdesk.incidents.choices import State, TimelineKind
from hashdesk.incidents.major_views import detail_context
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.notify.models import Notification
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.incidents.major_support import nothing_written

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def declare(actor, incident, commander=None, **options) -> Incident:
    options.setdefault("reason", "Nobody can sign in anywhere.")
    return major.do_declare_major(actor, incident, commander=commander or actor, **options)


def of_type(events, type_, op=None):
    return [e for e in events if e.type == type_ and (op is None or e.op == op)]


@pytest.fixture
def sso_incident(requester, sso_service) -> Incident:
    return actions.do_create_incident(
        requester, title="Sign-in failing", description="", service=sso_service
    )


@pytest.fixture
def dependents(sso_service, vpn_service, security_service):
    """VPN (public) and Security operations (confidential) both sign in through SSO."""
    catalog_actions.do_add_dependency(None, vpn_service, sso_service)
    catalog_actions.do_add_dependency(None, security_service, sso_service)
    return vpn_service, security_service


# --- Declaring ----------------------------------------------------------------------------------


def test_declaring_makes_it_p1_public_and_commanded(
    vpn_agent, problem_manager, sso_incident, capture_events
):
    before = timezone.now()
    with capture_events() as events:
        incident = declare(vpn_agent, sso_incident, problem_manager, cadence_minutes=20)

    incident = fresh(incident)
    assert incident.is_major and incident.commander == problem_manager
    assert (incident.impact, incident.urgency, incident.priority) == (1, 1, 1)
    assert incident.visibility == Visibility.PUBLIC
    assert incident.major_reason == "Nobody can sign in anywhere."
    assert incident.update_cadence_minutes == 20
    assert before + 20 * MIN <= incident.next_update_due_at <= timezone.now() + 20 * MIN
    assert incident.version == sso_incident.version + 1
    change = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.PRIORITY_CHANGE)
    assert change.data == {
        "reason": "major_incident",
        "impact": [3, 1],
        "urgency": [3, 1],
        "priority": [5, 1],
    }
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.MAJOR)
    assert entry.is_public and entry.data["op"] == "declared"
    assert entry.data["commander"] == problem_manager.pk
    assert AuditEntry.objects.filter(action="incident.major_declare").count() == 1
    assert of_type(events, "incident", "major")
    notice = Notification.objects.get(recipient=problem_manager, kind="incident.major_commander")
    assert incident.number in notice.title


def test_declaring_announces_on_the_service_streams_of_dependents(
    vpn_agent, sso_incident, sso_service, dependents, capture_events
):
    vpn_service, security_service = dependents
    with capture_events() as events:
        declare(vpn_agent, sso_incident)

    [announced] = of_type(events, "major_incident", "declared")
    assert set(announced.streams) == {
        "staff",
        "members",
        f"incident:{sso_incident.pk}",
        f"service:{sso_service.pk}",
        f"service:{vpn_service.pk}",
        f"service:{security_service.pk}",
    }
    assert announced.payload["services"][0] == sso_service.pk
    assert set(announced.payload["services"]) == {
        sso_service.pk,
        vpn_service.pk,
        security_service.pk,
    }
    assert announced.payload["incident"]["number"] == sso_incident.number
    assert announced.payload["entry"]["kind"] == "major"


def test_dependents_with_a_wider_audience_are_not_told(vpn_agent, requester, capture_events):
    payroll = catalog_actions.do_create_service(
        None, name="Payroll", hashtag="payroll", visibility=Visibility.INTERNAL
    )
    news = catalog_actions.do_create_service(
        None, name="News", hashtag="news", visibility=Visibility.PUBLIC
    )
    catalog_actions.do_add_dependency(None, news, payroll)
    incident = actions.do_create_incident(
        requester, title="Payslips missing", description="", service=payroll
    )
    with capture_events() as events:
        declare(vpn_agent, incident)

    [announced] = of_type(events, "major_incident", "declared")
    # Anonymous visitors may listen on a public service's stream; they may not see Payroll.
    assert f"service:{payroll.pk}" in announced.streams
    assert f"service:{news.pk}" not in announced.streams


def test_a_confidential_major_incident_is_announced_to_staff_only(
    vpn_agent, requester, security_service, capture_events
):
    incident = actions.do_create_incident(
        vpn_agent,
        title="Phishing wave",
        description="",
        service=security_service,
        reporter=requester,
    )
    with capture_events() as events:
        declare(vpn_agent, incident)

    # Only staff may see it, so it is not made public either.
    assert fresh(incident).visibility == Visibility.INTERNAL
    [announced] = of_type(events, "major_incident", "declared")
    assert announced.streams == ["staff"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"reason": "  "}, ValidationFailed),
        ({"cadence_minutes": 1}, ValidationFailed),
        ({"cadence_minutes": 24 * 60 + 1}, ValidationFailed),
        ({"expected_version": 7}, Conflict),
    ],
)
def test_bad_declarations_change_nothing(vpn_agent, sso_incident, change, error):
    with nothing_written(), pytest.raises(error):
        declare(vpn_agent, sso_incident, **change)
    assert not fresh(sso_incident).is_major


def test_only_staff_declare_and_command(vpn_agent, requester, sso_incident):
    with nothing_written(), pytest.raises(Forbidden):
        declare(requester, sso_incident, vpn_agent)
    with nothing_written(), pytest.raises(ValidationFailed) as error:
        declare(vpn_agent, sso_incident, requester)
    assert error.value.field == "commander"


def test_declare_needs_an_open_incident_not_yet_major(vpn_agent, sso_incident):
    declare(vpn_agent, sso_incident)
    with nothing_written(), pytest.raises(Conflict):
        declare(vpn_agent, fresh(sso_incident))
    resolved = actions.do_transition(
        vpn_agent,
        actions.do_create_incident(
            vpn_agent, title="Other", description="", service=sso_incident.service
        ),
        State.RESOLVED,
        expected_version=1,
        resolution_code="solved",
        resolution_notes="Fixed.",
    )
    with nothing_written(), pytest.raises(ValidationFailed):
        declare(vpn_agent, resolved)


def test_major_status_is_not_a_field_to_edit(vpn_agent, sso_incident):
    with pytest.raises(ValidationFailed):
        actions.do_update_incident(
            vpn_agent, sso_incident, expected_version=sso_incident.version, is_major=True
        )


# --- Official updates ---------------------------------------------------------------------------


@pytest.fixture
def major_incident(vpn_agent, problem_manager, sso_incident) -> Incident:
    return fresh(declare(vpn_agent, sso_incident, problem_manager, cadence_minutes=30))


def test_official_update_resets_the_due_time_and_tells_everyone(
    problem_manager, requester, other_requester, major_incident, capture_events
):
    actions.do_add_affected_user(None, major_incident, other_requester)
    version = fresh(major_incident).version
    with capture_events() as events:
        entry = major.do_post_official_update(
            problem_manager, major_incident, body="Failover to the second IdP in progress."
        )

    incident = fresh(major_incident)
    assert entry.kind == TimelineKind.OFFICIAL_UPDATE and entry.is_public
    assert abs(incident.next_update_due_at - (entry.created_at + 30 * MIN)) < MIN
    assert incident.version == version  # not a change of the record
    told = Notification.objects.filter(kind="incident.official_update")
    assert set(told.values_list("recipient", flat=True)) == {requester.pk, other_requester.pk}
    assert "second IdP" in told.first().body
    [update] = of_type(events, "major_incident", "update")
    assert "members" in update.streams and update.payload["entry"]["id"] == entry.pk
    assert AuditEntry.objects.filter(action="incident.official_update").count() == 1


def test_an_official_update_tells_people_only_its_redacted_text(
    problem_manager, requester, major_incident
):
    major.do_post_official_update(
        problem_manager, major_incident, body="Use the break-glass account, password: Sunny-Day-42"
    )
    notice = Notification.objects.get(kind="incident.official_update", recipient=requester)
    assert "Sunny-Day-42" not in notice.body
    assert "[redacted password]" in notice.body


def test_official_update_notifies_at_constant_queries(
    problem_manager, major_incident, make_person, query_count
):
    def post_with(extra: int) -> int:
        for n in range(extra):
            person = make_person(f"p{extra}-{n}@example.test", roles=["requester"])
            actions.do_add_affected_user(None, major_incident, person)
        with query_count() as ctx:
            major.do_post_official_update(problem_manager, major_incident, body="Still on it.")
        return len(ctx)

    post_with(0)  # the first post reads what every later one has cached (the author's roles)
    few = post_with(1)
    many = post_with(12)
    assert many == few
    # 1, then 2, then 14 people: everyone affected told, the author not.
    assert Notification.objects.filter(kind="incident.official_update").count() == 1 + 2 + 14


def test_official_updates_need_staff_and_an_open_major_incident(
    requester, vpn_agent, sso_incident, major_incident
):
    with nothing_written(), pytest.raises(Forbidden):
        major.do_post_official_update(requester, major_incident, body="All good?")
    other = actions.do_create_incident(
        vpn_agent, title="Small thing", description="", service=sso_incident.service
    )
    with nothing_written(), pytest.raises(ValidationFailed):
        major.do_post_official_update(vpn_agent, other, body="Update.")


# --- Reminders ----------------------------------------------------------------------------------


def test_the_commander_is_reminded_once_per_due_time(
    problem_manager, vpn_agent, major_incident, capture_events
):
    due = major_incident.next_update_due_at
    assert major.remind_due_updates(due - MIN) == 0

    with capture_events() as events:
        assert major.remind_due_updates(due + MIN) == 1
        assert major.remind_due_updates(due + 5 * MIN) == 0

    reminders = Notification.objects.filter(kind="incident.major_update_due")
    assert list(reminders.values_list("recipient", flat=True)) == [problem_manager.pk]
    assert [e.streams for e in of_type(events, "major_incident", "update_due")] == [["staff"]]

    # An official update sets a new due time, which gets its own reminder.
    major.do_post_official_update(vpn_agent, major_incident, body="Next step.")
    later = fresh(major_incident).next_update_due_at
    assert major.remind_due_updates(later + MIN) == 1
    assert major.remind_due_updates(later + 2 * MIN) == 0
    assert reminders.count() == 2


def test_the_periodic_task_reminds(major_incident):
    from hashdesk.incidents.tasks import remind_major_updates

    assert remind_major_updates.call_local() == 0


# --- Resolution and stand-down ------------------------------------------------------------------


def test_resolving_a_major_incident_tells_everyone(
    vpn_agent, requester, other_requester, major_incident, capture_events
):
    actions.do_follow(other_requester, major_incident)
    with capture_events() as events:
        actions.do_transition(
            vpn_agent,
            major_incident,
            State.RESOLVED,
            expected_version=fresh(major_incident).version,
            resolution_code="solved",
            resolution_notes="The IdP certificate was renewed.",
        )

    told = Notification.objects.filter(kind="incident.major_resolved")
    assert set(told.values_list("recipient", flat=True)) == {requester.pk, other_requester.pk}
    assert "certificate" in told.first().body
    [resolved] = of_type(events, "major_incident", "resolved")
    assert "members" in resolved.streams
    # Resolved: no more reminders.
    assert major.remind_due_updates(fresh(major_incident).next_update_due_at + MIN) == 0


def test_resolving_an_ordinary_incident_announces_nothing_major(
    vpn_agent, sso_incident, capture_events
):
    with capture_events() as events:
        actions.do_transition(
            vpn_agent,
            sso_incident,
            State.RESOLVED,
            expected_version=1,
            resolution_code="solved",
            resolution_notes="Fixed.",
        )
    assert not of_type(events, "major_incident")


def test_stand_down_ends_the_process(vpn_agent, requester, major_incident, capture_events):
    with nothing_written(), pytest.raises(Forbidden):
        major.do_stand_down(requester, major_incident, reason="Not that bad.")
    with capture_events() as events:
        major.do_stand_down(vpn_agent, major_incident, reason="Only one site is affected.")

    incident = fresh(major_incident)
    assert not incident.is_major and incident.commander is None
    assert incident.next_update_due_at is None and incident.priority == 1
    entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.MAJOR).last()
    assert entry.data["op"] == "stood_down" and entry.body == "Only one site is affected."
    assert of_type(events, "major_incident", "stood_down")
    assert major.remind_due_updates(timezone.now() + timedelta(days=1)) == 0
    with nothing_written(), pytest.raises(ValidationFailed):
        major.do_stand_down(vpn_agent, incident, reason="Again.")


# --- The banner ---------------------------------------------------------------------------------


def render_banner(user, source="{% load major_banner %}{% major_banner %}", **context) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return engines["django"].from_string(source).render({**context}, request)


def test_banner_shows_open_major_incidents_the_viewer_may_see(
    requester, other_requester, vpn_agent, major_incident, security_service
):
    text = render_banner(requester)
    assert "Major incident on Single sign-on" in text
    assert major_incident.title in text and "next update by" in text

    confidential = actions.do_create_incident(
        vpn_agent, title="Phishing wave", description="", service=security_service
    )
    declare(vpn_agent, confidential)
    assert "Phishing wave" not in render_banner(other_requester)
    assert "Phishing wave" in render_banner(vpn_agent)


def test_banner_costs_one_query_and_none_for_anonymous(
    requester, major_incident, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert render_banner(AnonymousUser()).strip() == ""
    assert requester.roles  # read once per request by every permission check anyway
    with django_assert_num_queries(1):
        render_banner(requester)


def test_banner_on_a_dependent_services_page(requester, dependents, major_incident, sso_service):
    vpn_service, _ = dependents
    source = "{% load major_banner %}{% service_major_banner service %}"
    assert "this service depends on it" in render_banner(requester, source, service=vpn_service)
    own = render_banner(requester, source, service=sso_service)
    assert "Major incident on Single sign-on" in own and "depends on it" not in own
    elsewhere = catalog_actions.do_create_service(None, name="Printing", hashtag="print")
    assert render_banner(requester, source, service=elsewhere).strip() == ""


def test_banner_is_on_every_page(requester, major_incident):
    client = Client()
    client.force_login(requester)
    page = client.get("/catalogue/")
    assert page.status_code == 200
    assert f"/incidents/{major_incident.number}/" in page.content.decode()


# --- API ----------------------------------------------------------------------------------------


def api(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


def path(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.number}{suffix}"


def test_api_declare_update_and_stand_down(vpn_agent, problem_manager, requester, sso_incident):
    agent = api(vpn_agent)
    assert_problem(
        agent.post(path(sso_incident, "/major"), {"reason": "Down", "commander_id": requester.pk}),
        422,
    )

    declared = agent.post(
        path(sso_incident, "/major"),
        {"reason": "Down", "commander_id": problem_manager.pk, "cadence_minutes": 15},
    )
    assert declared.status_code == 200, declared.content
    detail = json.loads(declared.content)
    assert detail["is_major"] and detail["priority"] == 1
    assert detail["commander"]["id"] == problem_manager.pk
    assert detail["update_cadence_minutes"] == 15 and detail["next_update_due_at"]

    assert_problem(api(requester).post(path(sso_incident, "/major/updates"), {"body": "Hi"}), 403)
    update = agent.post(path(sso_incident, "/major/updates"), {"body": "Failing over."})
    assert update.status_code == 201 and json.loads(update.content)["kind"] == "official_update"

    stood = agent.post(path(sso_incident, "/major/stand-down"), {"reason": "Contained."})
    assert stood.status_code == 200 and not json.loads(stood.content)["is_major"]
    assert_problem(agent.post(path(sso_incident, "/major/stand-down"), {"reason": "Again"}), 422)


def test_api_cannot_patch_major_status(vpn_agent, sso_incident):
    assert_problem(api(vpn_agent).patch(path(sso_incident), {"version": 1, "is_major": True}), 422)
    assert not fresh(sso_incident).is_major


# --- Pages --------------------------------------------------------------------------------------


def browser(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def page(incident: Incident, suffix: str) -> str:
    return f"/incidents/{incident.number}/{suffix}"


def test_declare_update_and_stand_down_through_the_pages(vpn_agent, problem_manager, sso_incident):
    agent = browser(vpn_agent)
    form = {
        "major-reason": "Sign-in fails everywhere.",
        "major-commander": str(problem_manager.pk),
        "major-cadence_minutes": "30",
        "major-version": str(sso_incident.version),
    }
    done = agent.post(page(sso_incident, "major/"), form)
    assert done.status_code == 302 and done["Location"].endswith("#major")
    assert fresh(sso_incident).commander == problem_manager

    posted = agent.post(page(sso_incident, "major/updates/"), {"official-body": "Working on it."})
    assert posted.status_code == 302
    assert TimelineEntry.objects.filter(kind=TimelineKind.OFFICIAL_UPDATE).count() == 1

    stood = agent.post(
        page(sso_incident, "major/"),
        {
            "intent": "stand_down",
            "standdown-reason": "Contained.",
            "standdown-version": str(fresh(sso_incident).version),
        },
    )
    assert stood.status_code == 302 and not fresh(sso_incident).is_major


def test_page_refusals_show_on_the_form(vpn_agent, requester, sso_incident):
    agent = browser(vpn_agent)
    stale = agent.post(
        page(sso_incident, "major/"),
        {
            "major-reason": "Down.",
            "major-commander": str(vpn_agent.pk),
            "major-cadence_minutes": "30",
            "major-version": "9",
        },
    )
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    not_staff = agent.post(
        page(sso_incident, "major/"),
        {
            "major-reason": "Down.",
            "major-commander": str(requester.pk),
            "major-cadence_minutes": "30",
            "major-version": "1",
        },
    )
    assert not_staff.status_code == 400  # not among the choices
    not_major = agent.post(page(sso_incident, "major/updates/"), {"official-body": "Hello"})
    assert (
        not_major.status_code == 400 and "not an open major incident" in not_major.content.decode()
    )
    assert not fresh(sso_incident).is_major


def test_requesters_get_no_major_forms(requester, sso_incident):
    client = browser(requester)
    assert client.get(page(sso_incident, "major/")).status_code == 403
    assert (
        client.post(page(sso_incident, "major/updates/"), {"official-body": "x"}).status_code == 403
    )


def _panels(viewer, incident) -> str:
    request = RequestFactory().get("/")
    request.user = viewer
    context = {"incident": incident, "request": request, **detail_context(request, incident)}
    source = (
        '{% include "incidents/includes/major_panel.html" %}'
        '{% include "incidents/includes/links_panel.html" %}'
    )
    return engines["django"].from_string(source).render(context, request)


def test_panels_offer_forms_to_staff_and_status_to_everyone(vpn_agent, requester, major_incident):
    staff_view = _panels(vpn_agent, fresh(major_incident))
    assert "Post official update" in staff_view and "Stand down" in staff_view
    assert "Link an incident" in staff_view and "Merge into another incident" in staff_view

    requester_view = _panels(requester, fresh(major_incident))
    assert "Problem Manager" in requester_view and "Every 30 minutes" in requester_view
    assert "<form" not in requester_view


def test_panels_mark_an_overdue_update(vpn_agent, major_incident):
    Incident.objects.filter(pk=major_incident.pk).update(
        next_update_due_at=timezone.now() - 5 * MIN
    )
    assert "Overdue" in _panels(vpn_agent, fresh(major_incident))


def test_panels_offer_the_declaration_to_staff_only(vpn_agent, requester, sso_incident):
    assert "Declare a major incident" in _panels(vpn_agent, sso_incident)
    assert _panels(requester, sso_incident).strip() == ""


def test_incident_page_includes_the_panels(vpn_agent, requester, major_incident, vpn_service):
    other = actions.do_create_incident(
        requester, title="VPN login loops", description="", service=vpn_service
    )
    linking.do_link(vpn_agent, other, major_incident, "duplicate_of")
    major.do_post_official_update(vpn_agent, major_incident, body="Failing **over**.")

    staff_page = browser(vpn_agent).get(f"/incidents/{major_incident.number}/")
    assert staff_page.status_code == 200
    html = staff_page.content.decode()
    assert 'id="major"' in html and 'id="links"' in html and "Post official update" in html

    own_page = browser(requester).get(f"/incidents/{major_incident.number}/")
    html = own_page.content.decode()
    assert own_page.status_code == 200
    assert "Failing <strong>over</strong>." in html and "Has duplicate" in html
    assert "official-body" not in html and "link-incident" not in html
