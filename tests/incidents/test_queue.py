"""The agent queue: queues, filters, sort and seek pages, saved views, bulk changes, and a query
count that does not grow with the desk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import Team, User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, NotFound, ValidationFailed
from hashdesk.incidents import actions, queue
from hashdesk.incidents import major as major_actions
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident, SavedView, TimelineEntry
from hashdesk.incidents.saved_views import do_delete_saved_view, do_save_view
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db

QUEUE = reverse("incidents:queue")


@pytest.fixture
def client_for(db: Any) -> Callable[[User], Client]:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


@pytest.fixture
def desk_agent(make_person: Callable[..., User]) -> User:
    """An agent outside the network team."""
    return make_person("desk.agent@example.test", roles=[Role.AGENT])


@pytest.fixture
def report(requester: User, vpn_service: Service) -> Callable[..., Incident]:
    def make(title: str, *, service: Service | None = None, **fields: Any) -> Incident:
        return actions.do_create_incident(
            requester, title=title, description="", service=service or vpn_service, **fields
        )

    return make


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def numbers(response: Any) -> list[str]:
    return [row.incident.number for row in response.context["rows"]]


def get(client: Client, **params: Any) -> Any:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        query.setlist(name, value if isinstance(value, list) else [str(value)])
    return client.get(f"{QUEUE}?{query.urlencode()}")


# --- Who gets the queue -------------------------------------------------------------------------


def test_requesters_are_sent_to_their_own_incidents(client_for, requester) -> None:
    response = client_for(requester).get(QUEUE)
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:mine")


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_everyone_signed_in_has_the_incidents_link(client_for, requester, vpn_agent) -> None:
    for person in (requester, vpn_agent):
        response = client_for(person).get("/")
        labels = [link.label for link in response.context["shell"].nav]
        assert "Incidents" in labels
        assert (
            next(link for link in response.context["shell"].nav if link.label == "Incidents").url
            == QUEUE
        )


def test_requesters_cannot_save_views_or_change_in_bulk(client_for, requester, report) -> None:
    incident = report("Printer jam")
    client = client_for(requester)
    assert client.post(reverse("incidents:saved-view-create"), {"name": "x"}).status_code == 403
    response = client.post(
        reverse("incidents:bulk"),
        {
            "operation": "transition",
            "to_state": "cancelled",
            "resolution_notes": "no",
            "incident": f"{incident.pk}:{incident.version}",
        },
    )
    assert response.status_code == 403
    assert fresh(incident).state == State.NEW


# --- Queues -------------------------------------------------------------------------------------


@pytest.fixture
def desk(report, vpn_agent, desk_agent, network_team, sso_service) -> dict[str, Incident]:
    """One incident per situation the queues tell apart, made through the actions."""
    mine = report("Mine: VPN slow")
    mine = actions.do_assign(
        vpn_agent, mine, expected_version=mine.version, group=network_team, assignee=vpn_agent
    )
    team_only = report("Team: VPN certificate")
    team_only = actions.do_assign(
        vpn_agent, team_only, expected_version=team_only.version, group=network_team
    )
    colleague = report("Colleague's: SSO loop", service=sso_service)
    colleague = actions.do_assign(
        desk_agent, colleague, expected_version=colleague.version, assignee=desk_agent
    )
    fresh_one = report("New: nobody has looked", category="hardware")
    major = report("Major: VPN down")
    # Declaring it major also makes it P1, so its SLA falls due soon too.
    major = major_actions.do_declare_major(
        vpn_agent, major, reason="Everyone is cut off.", commander=vpn_agent
    )
    # P1: a 15-minute response target on the 24x7 calendar, so it is due within hours.
    urgent = actions.do_create_incident(
        vpn_agent,
        title="Urgent: SSO rejects everyone",
        description="",
        service=sso_service,
        impact=1,
        urgency=1,
        reporter=desk_agent,
    )
    resolved = report("Resolved: password reset")
    resolved = actions.do_assign(
        vpn_agent, resolved, expected_version=resolved.version, assignee=vpn_agent
    )
    resolved = actions.do_transition(
        vpn_agent,
        resolved,
        State.RESOLVED,
        expected_version=resolved.version,
        resolution_code="solved",
        resolution_notes="Reset it.",
    )
    return {
        "mine": mine,
        "team_only": team_only,
        "colleague": colleague,
        "fresh": fresh_one,
        "major": major,
        "urgent": urgent,
        "resolved": resolved,
    }


def test_each_queue_selects_its_incidents_and_counts_them(client_for, vpn_agent, desk) -> None:
    def n(*keys: str) -> set[str]:
        return {str(desk[key].number) for key in keys}

    expected = {
        "mine": n("mine"),
        "teams": n("mine", "team_only"),
        "unassigned": n("team_only", "fresh", "major", "urgent"),
        "breaching": n("major", "urgent"),
        "major": n("major"),
        "open": n("mine", "team_only", "colleague", "fresh", "major", "urgent"),
        "all": n("mine", "team_only", "colleague", "fresh", "major", "urgent", "resolved"),
    }
    client = client_for(vpn_agent)
    for key, wanted in expected.items():
        response = get(client, queue=key)
        assert response.status_code == 200, key
        assert set(numbers(response)) == wanted, key
    tabs = {tab.key: tab.count for tab in get(client, queue="open").context["tabs"]}
    assert tabs == {key: len(wanted) for key, wanted in expected.items() if key != "all"} | {
        "all": None
    }


def test_the_default_queue_is_all_open_by_priority(client_for, vpn_agent, desk) -> None:
    response = client_for(vpn_agent).get(QUEUE)
    assert response.context["query"].queue == "open"
    rows = response.context["rows"]
    assert {row.incident.pk for row in rows[:2]} == {desk["major"].pk, desk["urgent"].pk}  # P1
    keys = [(row.incident.priority, row.incident.created_at) for row in rows]
    assert keys == sorted(keys)
    html = response.content.decode()
    assert reverse("incidents:detail", args=[desk["urgent"].number]) in html
    assert 'aria-current="page"' in html and "<caption" in html and 'scope="col"' in html
    # CSP-clean (no inline script, style or handlers), CSRF on every POST form, unique ids.
    assert_shell_rules(html)
    assert "Content-Security-Policy" in response


def test_breaching_soon_is_sorted_by_sla_due_and_shows_it(client_for, vpn_agent, desk) -> None:
    response = get(client_for(vpn_agent), queue="breaching")
    assert response.context["sort"].key == "sla"
    row = response.context["rows"][0]
    assert row.sla_label == "Running" and row.sla_relative.startswith("due in")
    # A breached clock is shown in red.
    Incident.objects.filter(pk=desk["urgent"].pk).update(
        sla_state="breached", sla_due_at=timezone.now() - timedelta(hours=2)
    )
    response = get(client_for(vpn_agent), queue="breaching")
    row = response.context["rows"][0]
    assert row.sla_tone == "danger" and row.sla_relative.startswith("overdue by 2")
    assert "queue-sla--danger" in response.content.decode()


# --- Filters ------------------------------------------------------------------------------------


def test_filters_narrow_the_queue(
    client_for, vpn_agent, desk_agent, network_team, sso_service, desk
) -> None:
    client = client_for(vpn_agent)

    def found(**params: Any) -> set[str]:
        response = get(client, queue="all", **params)
        assert response.status_code == 200, params
        return set(numbers(response))

    def n(*keys: str) -> set[str]:
        return {str(desk[key].number) for key in keys}

    assert found(state=["new"]) == n("fresh", "major", "urgent")
    assert found(state=["assigned", "resolved"]) == n("mine", "team_only", "colleague", "resolved")
    assert found(priority=["1"]) == n("major", "urgent")
    assert found(service=sso_service.slug) == n("colleague", "urgent")
    assert found(group=network_team.slug) == n("mine", "team_only")
    assert found(assignee="me") == n("mine", "resolved")
    assert found(assignee=str(desk_agent.pk)) == n("colleague")
    assert found(assignee="none") == n("team_only", "fresh", "major", "urgent")
    assert found(category="hardware") == n("fresh")
    assert found(sla="running") >= n("urgent")
    assert found(q="certificate") == n("team_only")
    assert found(q=desk["fresh"].number.lower()) == n("fresh")
    assert found(q=str(desk["fresh"].pk)) == n("fresh")
    today = timezone.localdate()
    assert found(created_after=today.isoformat()) == n(*desk)
    assert found(created_before=today.isoformat()) == set()
    # Filters combine.
    assert found(service="vpn", state=["new"], category="hardware") == n("fresh")


def test_bad_parameters_are_reported_and_the_rest_still_applies(
    client_for, vpn_agent, desk
) -> None:
    response = get(
        client_for(vpn_agent),
        queue="open",
        state=["new", "nonsense"],
        priority=["9"],
        service="no-such-service",
        group="nobody",
        assignee="somebody",
        sla="late",
        created_after="yesterday",
        sort="colour",
        dir="sideways",
        cursor="!!not-a-cursor",
        category="hardware",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "filters were left out" in html
    problems = " ".join(item["message"] for item in response.context["problems"])
    for label in ("State", "Priority", "Service", "Assignment group", "Assignee", "SLA", "Sort by"):
        assert label in problems
    # The valid filter (category) still applies; the page still lists.
    assert numbers(response) == [desk["fresh"].number]


def test_a_cursor_from_another_sort_is_refused_with_a_message(client_for, vpn_agent, desk) -> None:
    page = queue.seek_page(
        Incident.objects.all(), queue.SORTS_BY_KEY["created"], True, None, size=2
    )
    assert page.next_cursor
    response = get(client_for(vpn_agent), queue="all", sort="priority", cursor=page.next_cursor)
    assert response.status_code == 400
    assert queue.BAD_CURSOR in " ".join(p["message"] for p in response.context["problems"])
    assert len(numbers(response)) == 7  # the first page instead


def test_dates_in_the_wrong_order_are_refused(client_for, vpn_agent, desk) -> None:
    today = timezone.localdate()
    response = get(
        client_for(vpn_agent),
        queue="all",
        created_after=today.isoformat(),
        created_before=(today - timedelta(days=1)).isoformat(),
    )
    assert response.status_code == 400
    assert len(numbers(response)) == 7  # the date filter is left out


# --- Sort and seek pages ------------------------------------------------------------------------


@pytest.mark.parametrize("sort_key", [sort.key for sort in queue.SORTS])
@pytest.mark.parametrize("descending", [False, True])
def test_seek_pages_walk_every_sort_forwards_and_back(
    desk, sort_key: str, descending: bool
) -> None:
    sort = queue.SORTS_BY_KEY[sort_key]
    # Ties and NULLs: two incidents share a due time, one has none.
    same = timezone.now() + timedelta(hours=5)
    Incident.objects.filter(pk__in=[desk["fresh"].pk, desk["major"].pk]).update(sla_due_at=same)
    Incident.objects.filter(pk=desk["resolved"].pk).update(sla_due_at=None)
    everything = Incident.objects.all()
    expected = list(everything.order_by(*queue.ordering(sort, descending)))
    if sort_key == "sla":
        assert expected[-1] == fresh(desk["resolved"])  # NULLs last, both ways
    walked: list[Incident] = []
    pages = []
    cursor = None
    while True:
        page = queue.seek_page(everything, sort, descending, cursor, size=2)
        pages.append(page)
        walked += page.rows
        if not page.next_cursor:
            break
        cursor = queue.decode_cursor(sort, descending, page.next_cursor)
    assert walked == expected
    assert pages[0].previous_cursor is None
    # And back again from the last page.
    back: list[Incident] = list(pages[-1].rows)
    page = pages[-1]
    while page.previous_cursor:
        page = queue.seek_page(
            everything,
            sort,
            descending,
            queue.decode_cursor(sort, descending, page.previous_cursor),
            size=2,
        )
        back = page.rows + back
    assert back == expected


def test_the_page_links_to_the_next_page_keeping_the_filters(
    client_for, vpn_agent, desk, monkeypatch
) -> None:
    monkeypatch.setattr(queue, "PAGE_SIZE", 3)
    client = client_for(vpn_agent)
    first = get(client, queue="all", sort="number", dir="asc", service="vpn")
    assert numbers(first) == sorted(numbers(first))
    assert first.context["next_url"]
    assert "service=vpn" in first.context["next_url"]
    second = client.get(first.context["next_url"])
    assert second.status_code == 200
    assert set(numbers(first)).isdisjoint(numbers(second))
    assert second.context["previous_url"] and second.context["first_url"]
    assert numbers(client.get(second.context["previous_url"])) == numbers(first)


def test_column_headers_sort_and_say_how(client_for, vpn_agent, desk) -> None:
    response = get(client_for(vpn_agent), queue="all", sort="updated")
    headers = response.context["headers"]
    assert headers["updated"].sorted == "descending"
    assert "dir=asc" in headers["updated"].url  # a click flips it
    assert headers["priority"].sorted == ""
    assert 'aria-sort="descending"' in response.content.decode()
    rows = [row.incident.updated_at for row in response.context["rows"]]
    assert rows == sorted(rows, reverse=True)


# --- Query count --------------------------------------------------------------------------------


def test_the_queue_costs_the_same_queries_at_3_and_30_incidents(
    client_for, vpn_agent, report, network_team, django_assert_max_num_queries, query_count
) -> None:
    client = client_for(vpn_agent)

    def make(count: int) -> None:
        for index in range(count):
            incident = report(f"Incident {index}")
            if index % 3 == 0:
                actions.do_assign(
                    vpn_agent,
                    incident,
                    expected_version=incident.version,
                    group=network_team,
                    assignee=vpn_agent,
                )
            if index % 5 == 0:
                actions.do_add_affected_user(vpn_agent, incident, vpn_agent)

    def measure() -> int:
        client.get(QUEUE)  # warm: session, roles and the template cache
        with query_count() as counted:
            response = client.get(QUEUE)
        assert response.status_code == 200
        return len(counted)

    make(3)
    few = measure()
    make(27)
    many = measure()
    assert few == many
    # The queue's own eight (services, teams and staff for the controls, the page's ids, its
    # rows, their affected counts, the tab counts, saved views) plus the shell's: session,
    # person, roles and permissions, newest event, the bell (2) and the major-incident banner.
    with django_assert_max_num_queries(18):
        client.get(QUEUE)


# --- Saved views --------------------------------------------------------------------------------


def test_an_agent_saves_lists_and_deletes_a_view(
    client_for, vpn_agent, desk, capture_events
) -> None:
    client = client_for(vpn_agent)
    with capture_events() as events:
        response = client.post(
            reverse("incidents:saved-view-create"),
            {"name": "  Network, new  ", "query": "state=new&service=vpn&cursor=abc&junk=1"},
        )
    view = SavedView.objects.get(owner=vpn_agent)
    assert view.name == "Network, new"
    assert view.query == "state=new&service=vpn"  # known parameters, fixed order, no cursor
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?state=new&service=vpn"
    assert [(e.type, e.op, e.streams) for e in events] == [
        ("saved_view", "create", [f"user:{vpn_agent.pk}"])
    ]
    assert AuditEntry.objects.filter(action="incident.saved_view_create").exists()

    page = client.get(response["Location"])
    saved = page.context["saved_tabs"]
    assert [tab.view.name for tab in saved] == ["Network, new"] and saved[0].current
    assert set(numbers(page)) == {desk["fresh"].number, desk["major"].number}

    with capture_events() as events:
        response = client.post(reverse("incidents:saved-view-delete", args=[view.pk]), follow=True)
    assert response.status_code == 200
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert "Deleted the saved view." in response.content.decode()
    assert [(e.type, e.op) for e in events] == [("saved_view", "delete")]


def test_a_view_name_is_required_short_and_unique_per_person(
    client_for, vpn_agent, desk_agent
) -> None:
    do_save_view(vpn_agent, name="Mine", query="queue=mine")
    client = client_for(vpn_agent)
    url = reverse("incidents:saved-view-create")
    for name, message in (
        ("mine", "You already have a view called “mine”."),
        ("", "This field is required."),
        ("x" * 81, "at most 80 characters"),
    ):
        response = client.post(url, {"name": name, "query": "queue=unassigned"})
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html
        # The queue is shown as it was being saved, with the message on the form.
        assert response.context["query"].queue == "unassigned"
        assert_shell_rules(html)
    assert SavedView.objects.filter(owner=vpn_agent).count() == 1
    # Another person may use the same name.
    assert do_save_view(desk_agent, name="Mine", query="").owner == desk_agent
    with pytest.raises(Conflict):
        do_save_view(vpn_agent, name="MINE", query="")
    with pytest.raises(ValidationFailed):
        do_save_view(vpn_agent, name="Long", query="q=" + "x" * 1200)


def test_another_persons_view_is_not_found(client_for, vpn_agent, desk_agent) -> None:
    theirs = do_save_view(desk_agent, name="Theirs", query="queue=mine")
    response = client_for(vpn_agent).post(reverse("incidents:saved-view-delete", args=[theirs.pk]))
    assert response.status_code == 404
    with pytest.raises(NotFound):
        do_delete_saved_view(vpn_agent, theirs.pk)
    assert SavedView.objects.filter(pk=theirs.pk).exists()
    page = client_for(vpn_agent).get(QUEUE)
    assert page.context["saved_tabs"] == []


# --- Bulk changes -------------------------------------------------------------------------------


def targets(*incidents: Incident) -> list[str]:
    return [f"{i.pk}:{i.version}" for i in incidents]


def test_bulk_assign_gives_every_selected_incident_to_me(
    client_for, vpn_agent, report, capture_events
) -> None:
    chosen = [report(f"VPN {i}") for i in range(3)]
    left_alone = report("Not selected")
    back = f"{QUEUE}?queue=unassigned"
    client = client_for(vpn_agent)
    with capture_events() as events:
        response = client.post(
            reverse("incidents:bulk"),
            {"operation": "assign", "assignee": "me", "incident": targets(*chosen), "next": back},
        )
    assert response.status_code == 302 and response["Location"] == back
    for incident in chosen:
        now = fresh(incident)
        assert (now.assignee_id, now.state) == (vpn_agent.pk, State.ASSIGNED)
    assert fresh(left_alone).assignee_id is None
    assert sum(1 for e in events if e.type == "incident") == 3
    page = client.get(response["Location"])
    assert "3 updated" in page.content.decode()
    assert set(numbers(get(client, queue="mine"))) == {i.number for i in chosen}


def test_bulk_transition_applies_the_legal_moves_and_names_the_refused(
    client_for, vpn_agent, network_team, report, capture_events
) -> None:
    def assigned(title: str) -> Incident:
        incident = report(title)
        return actions.do_assign(
            vpn_agent, incident, expected_version=incident.version, group=network_team
        )

    first, second = assigned("Waiting on supplier A"), assigned("Waiting on supplier B")
    new_one = report("Still new")  # New cannot go on hold
    stale = assigned("Changed meanwhile")
    seen_version = stale.version
    stale = actions.do_update_incident(vpn_agent, stale, expected_version=seen_version, urgency=2)
    entries_before = TimelineEntry.objects.filter(incident__in=[new_one, stale]).count()
    audit_before = AuditEntry.objects.count()
    with capture_events() as events:
        response = client_for(vpn_agent).post(
            reverse("incidents:bulk"),
            {
                "operation": "transition",
                "to_state": "on_hold",
                "hold_reason": "awaiting_supplier",
                "incident": [*targets(first, second, new_one), f"{stale.pk}:{seen_version}"],
                "next": f"{QUEUE}?queue=open",
            },
            follow=True,
        )
    html = response.content.decode()
    assert "2 updated, 2 refused:" in html
    assert f"{new_one.number} (An incident cannot go from New to On hold" in html
    assert f"{stale.number} (changed by someone else" in html
    assert [fresh(i).state for i in (first, second)] == [State.ON_HOLD, State.ON_HOLD]
    assert fresh(first).hold_reason == "awaiting_supplier"
    # Nothing half-written for the refused ones.
    assert fresh(new_one).state == State.NEW and fresh(new_one).version == new_one.version
    assert fresh(stale).version == stale.version and fresh(stale).state == State.ASSIGNED
    assert TimelineEntry.objects.filter(incident__in=[new_one, stale]).count() == entries_before
    assert AuditEntry.objects.count() == audit_before + 2
    changed = {e.payload["incident"]["id"] for e in events if e.type == "incident"}
    assert changed == {first.pk, second.pk}


def test_select_all_on_the_page_works_without_javascript(client_for, vpn_agent, report) -> None:
    rows = [report(f"Row {i}") for i in range(2)]
    response = client_for(vpn_agent).post(
        reverse("incidents:bulk"),
        {
            "operation": "transition",
            "to_state": "cancelled",
            "resolution_notes": "Duplicate reports.",
            "select_all": "1",
            "on_page": targets(*rows),
        },
    )
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert {fresh(i).state for i in rows} == {State.CANCELLED}


def test_bulk_without_a_selection_or_target_changes_nothing(client_for, vpn_agent, report) -> None:
    incident = report("Untouched")
    client = client_for(vpn_agent)
    url = reverse("incidents:bulk")
    cases = [
        ({"operation": "assign", "assignee": "me"}, "Select at least one incident first."),
        ({"operation": "assign", "incident": targets(incident)}, "Choose a group, a person"),
        ({"operation": "transition", "incident": targets(incident)}, "Choose the state"),
        ({"operation": "assign", "assignee": "me", "incident": ["1;2"]}, "not valid"),
        ({"operation": "explode", "incident": targets(incident)}, "Select a valid choice"),
    ]
    for (data, message), elsewhere in zip(
        cases,
        ["https://evil.example/", "/catalogue/", "//evil.example/x", "/incidents/../", ""],
        strict=True,
    ):
        response = client.post(url, {**data, "next": elsewhere}, follow=True)
        assert response.redirect_chain[0][0] == QUEUE  # back to the queue, never elsewhere
        assert message in response.content.decode(), data
    assert fresh(incident).version == incident.version


def test_bulk_assign_to_a_non_member_is_refused_per_incident(
    client_for, vpn_agent, desk_agent, network_team, report
) -> None:
    incident = report("Wrong person")
    response = client_for(vpn_agent).post(
        reverse("incidents:bulk"),
        {
            "operation": "assign",
            "group": network_team.slug,
            "assignee": str(desk_agent.pk),
            "incident": targets(incident),
        },
        follow=True,
    )
    assert "0 updated, 1 refused" in response.content.decode()
    assert fresh(incident).assignee_id is None


def test_bulk_skips_incidents_that_do_not_exist(client_for, vpn_agent, report) -> None:
    incident = report("Real")
    response = client_for(vpn_agent).post(
        reverse("incidents:bulk"),
        {"operation": "assign", "assignee": "me", "incident": [*targets(incident), "999999:1"]},
        follow=True,
    )
    assert "1 updated, 1 refused: #999999 (no such incident)" in response.content.decode()


def test_team_membership_decides_my_teams(vpn_agent, desk_agent, network_team, report) -> None:
    incident = report("Team work")
    actions.do_assign(vpn_agent, incident, expected_version=incident.version, group=network_team)
    now = timezone.now()
    assert queue.queue_counts(desk_agent, now)["teams"] == 0
    account_actions.do_add_team_member(None, network_team, desk_agent)
    assert queue.queue_counts(desk_agent, now)["teams"] == 1
    assert Team.objects.count() == 1
