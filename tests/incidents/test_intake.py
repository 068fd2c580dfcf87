"""Recording incidents in bulk (incidents/intake.py): one creation path for one incident and
for a batch, all or nothing, at a cost in queries that does not grow with the batch."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hashdesk.accounts.choices import Role
from hashdesk.audit import trail
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.models import Event
from hashdesk.incidents import actions, impact, sla
from hashdesk.incidents.intake import MAX_BATCH, NewIncident, do_create_incidents
from hashdesk.incidents.models import (
    AffectedUser,
    Incident,
    IncidentFollower,
    IncidentSlaClock,
    TimelineEntry,
)
from hashdesk.sla import actions as sla_actions
from hashdesk.sla.clock import read_clock
from hashdesk.sla.models import BusinessCalendar, SlaPolicy, policy_for
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db

# PostgreSQL takes two advisory locks (event order, audit chain) that SQLite does not need.
LOCKS = 2 if connection.vendor == "postgresql" else 0
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def alert(service, n: int = 0, **fields) -> NewIncident:
    return NewIncident(
        title=fields.pop("title", f"Disk full on host {n}"),
        description=fields.pop("description", "Monitoring: **/var** is at 100%."),
        service=service,
        **fields,
    )


def nothing_written() -> bool:
    return not (
        Incident.objects.exists()
        or AuditEntry.objects.filter(action="incident.create").exists()
        or Event.objects.filter(type="incident").exists()
    )


# --- What a batch records ----------------------------------------------------------------------


def test_a_batch_records_each_incident_whole_and_in_order(
    vpn_agent, requester, vpn_service, sso_service, capture_events
):
    items = [
        alert(vpn_service, 0, reporter=requester, source="alert", urgency=1),
        alert(sso_service, 1, category="access", impact=2, urgency=2, source="alert"),
        alert(vpn_service, 2, title="  Padded title  ", description=""),
    ]
    with capture_events() as events:
        incidents = do_create_incidents(vpn_agent, items)

    assert [i.title for i in incidents] == [
        "Disk full on host 0",
        "Disk full on host 1",
        "Padded title",
    ]
    for incident in incidents:
        stored = Incident.objects.get(pk=incident.pk)
        assert stored.number == f"INC-{stored.pk:06d}" == incident.number
        assert stored.version == 1 and stored.state == "new"
        assert stored.created_at == stored.updated_at == incidents[0].created_at
    first, second, third = (Incident.objects.get(pk=i.pk) for i in incidents)
    assert first.reporter == requester and first.source == "alert" and first.priority == 3
    assert second.reporter == vpn_agent and second.category == "access"
    assert (second.impact, second.impact_source, second.priority) == (2, "manual", 3)
    assert third.description == "" and third.description_html == ""
    assert "<strong>/var</strong>" in first.description_html
    # Each reporter is affected (through the item's channel) and follows their incident.
    assert {(a.incident_id, a.user_id, a.channel) for a in AffectedUser.objects.all()} == {
        (first.pk, requester.pk, "alert"),
        (second.pk, vpn_agent.pk, "alert"),
        (third.pk, vpn_agent.pk, "web"),
    }
    assert IncidentFollower.objects.count() == 3
    audit = AuditEntry.objects.filter(action="incident.create").order_by("sequence")
    assert [e.object_id for e in audit] == [str(i.pk) for i in incidents]
    assert audit[0].after == json.loads(json.dumps(actions.incident_snapshot(first)))
    assert audit[0].actor == vpn_agent
    assert [(e.type, e.op, e.payload["incident"]["id"]) for e in events] == [
        ("incident", "create", i.pk) for i in incidents
    ]
    assert set(events[0].streams) == {
        "staff",
        f"incident:{first.pk}",
        f"user:{requester.pk}",
    }
    assert trail.verify().ok


def test_a_batch_item_is_recorded_as_the_single_action_records_it(
    vpn_agent, requester, make_person, vpn_service
):
    vip = make_person("ceo@example.test", roles=[Role.REQUESTER], is_vip=True, site="London")
    fields = {"impact": 3, "urgency": 2, "category": "network", "source": "email"}
    single = actions.do_create_incident(
        vpn_agent, title="One", description="x", service=vpn_service, reporter=vip, **fields
    )
    [batched] = do_create_incidents(vpn_agent, [alert(vpn_service, reporter=vip, **fields)])

    def record(incident):
        incident = Incident.objects.get(pk=incident.pk)
        return {
            "impact": incident.impact,
            "impact_source": incident.impact_source,
            "priority": incident.priority,
            "sla_state": incident.sla_state,
            "clocks": sorted(
                (c.kind, c.policy_id, c.target_minutes, c.warning_share, c.state)
                for c in IncidentSlaClock.objects.filter(incident=incident)
            ),
            "timeline": [
                (e.kind, e.is_public, e.author_id, e.data)
                for e in TimelineEntry.objects.filter(incident=incident)
            ],
        }

    # The VIP raises the impact to high by the policy: P2, recorded on the timeline.
    assert record(single) == record(batched)
    assert record(batched)["priority"] == 2 and record(batched)["impact_source"] == "policy"
    assert record(batched)["timeline"] == [
        (
            "priority_change",
            True,
            None,
            {"reason": "impact_policy", "impact": [3, 1], "priority": [4, 2]},
        )
    ]
    # The batch reads each policy's clock once; each clock reads as if read on its own.
    stored = Incident.objects.get(pk=batched.pk)
    for clock in IncidentSlaClock.objects.filter(incident=stored).select_related("calendar"):
        reading = read_clock(
            clock.calendar.snapshot(),
            target_minutes=clock.target_minutes,
            warning_share=clock.warning_share,
            started_at=stored.created_at,
            now=stored.created_at,
        )
        assert (clock.due_at, clock.warning_at) == (reading.due_at, reading.warning_at)
    assert (
        stored.sla_due_at == IncidentSlaClock.objects.get(incident=stored, kind="response").due_at
    )


def test_incidents_without_an_sla_policy_get_no_clocks(requester, vpn_service):
    SlaPolicy.objects.filter(priority=5).update(is_active=False)
    low, high = do_create_incidents(
        requester, [alert(vpn_service, 0), alert(vpn_service, 1, urgency=1)]
    )
    assert not IncidentSlaClock.objects.filter(incident=low).exists()
    assert Incident.objects.get(pk=low.pk).sla_state == ""
    assert IncidentSlaClock.objects.filter(incident=high).count() == 2
    assert Incident.objects.get(pk=high.pk).sla_state == "running"


def test_a_service_policy_wins_over_the_general_one_for_its_incidents(
    administrator, requester, vpn_service, sso_service
):
    calendar = BusinessCalendar.objects.get(name="24x7")
    own = sla_actions.do_create_sla_policy(
        administrator,
        name="VPN P5",
        priority=5,
        calendar=calendar,
        response_minutes=60,
        resolution_minutes=120,
        service=vpn_service,
    )
    on_vpn, on_sso = do_create_incidents(requester, [alert(vpn_service), alert(sso_service)])
    assert IncidentSlaClock.objects.get(incident=on_vpn, kind="response").policy == own
    general = SlaPolicy.objects.get(priority=5, service=None)
    assert IncidentSlaClock.objects.get(incident=on_sso, kind="response").policy == general


def test_the_batch_policy_lookup_agrees_with_policy_for(
    administrator, vpn_service, sso_service, security_service
):
    calendar = BusinessCalendar.objects.get(name="24x7")
    for priority, service, active in [(2, vpn_service, True), (3, sso_service, False)]:
        sla_actions.do_create_sla_policy(
            administrator,
            name=f"P{priority} {service.name}",
            priority=priority,
            calendar=calendar,
            response_minutes=30,
            resolution_minutes=60,
            service=service,
            is_active=active,
        )
    SlaPolicy.objects.filter(priority=4, service=None).update(is_active=False)
    services = [vpn_service, sso_service, security_service]
    pairs = [(p, s.pk) for p in range(1, 6) for s in services]
    found = sla._policies_for(pairs)
    for priority, service in ((p, s) for p in range(1, 6) for s in services):
        assert found.get((priority, service.pk)) == policy_for(priority, service)


def test_signals_of_a_new_incident_need_no_query(
    make_person, vpn_service, django_assert_num_queries
):
    people = [
        make_person("a@example.test", roles=[Role.REQUESTER]),
        make_person("b@example.test", roles=[Role.REQUESTER], site="Leeds", department="HR"),
        make_person("c@example.test", roles=[Role.REQUESTER], is_vip=True),
    ]
    for person in people:
        [incident] = do_create_incidents(person, [alert(vpn_service)])
        with django_assert_num_queries(0):
            computed = impact.signals_of_reporter(person)
        assert computed == impact.signals_for(incident.pk)


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.INTERNAL, "confidential"])
def test_new_incident_audience_is_audience_without_the_queries(
    requester, vpn_service, visibility, django_assert_num_queries
):
    [incident] = do_create_incidents(requester, [alert(vpn_service)])
    incident.visibility = visibility
    with django_assert_num_queries(0):
        streams = actions.new_incident_audience(incident)
    assert streams == actions.audience(incident, public=True)


# --- All or nothing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"category": "weather"}, "category"),
        ({"impact": 7}, "impact"),
        ({"urgency": 0}, "urgency"),
        ({"source": "pigeon"}, "source"),
    ],
)
def test_one_bad_item_refuses_the_batch_naming_it(requester, vpn_service, bad, field):
    items = [alert(vpn_service, n) for n in range(5)]
    items[3] = alert(vpn_service, 3, **bad)
    with pytest.raises(ValidationFailed) as refused:
        do_create_incidents(requester, items)
    assert refused.value.field == f"incidents[3].{field}"
    assert refused.value.detail.startswith("incidents[3]: ")
    problem = refused.value.as_problem()
    assert problem["errors"][0]["pointer"] == f"/incidents/3/{field}"
    assert nothing_written()


def test_a_configuration_item_of_another_service_refuses_the_batch(
    requester, vpn_service, sso_service
):
    item = catalog_actions.do_create_configuration_item(None, service=sso_service, name="idp-1")
    with pytest.raises(ValidationFailed) as refused:
        do_create_incidents(
            requester, [alert(vpn_service), alert(vpn_service, configuration_item=item)]
        )
    assert refused.value.field == "incidents[1].configuration_item"
    assert nothing_written()


def test_permissions_are_checked_for_every_item(
    requester, other_requester, vpn_service, security_service
):
    with pytest.raises(Forbidden) as refused:
        do_create_incidents(
            requester, [alert(vpn_service), alert(vpn_service, reporter=other_requester)]
        )
    assert refused.value.field == "incidents[1]"
    # A service the requester may not see is not found, as everywhere else.
    with pytest.raises(NotFound) as hidden:
        do_create_incidents(
            requester, [alert(vpn_service), alert(vpn_service), alert(security_service)]
        )
    assert hidden.value.field == "incidents[2].service"
    assert nothing_written()


def test_staff_report_for_others_and_on_confidential_services(
    vpn_agent, requester, security_service
):
    [incident] = do_create_incidents(vpn_agent, [alert(security_service, reporter=requester)])
    assert incident.reporter == requester and incident.service == security_service


def test_anonymous_callers_and_oversized_batches_are_refused(requester, vpn_service):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        do_create_incidents(AnonymousUser(), [alert(vpn_service)])
    with pytest.raises(ValidationFailed) as refused:
        do_create_incidents(requester, [alert(vpn_service, n) for n in range(MAX_BATCH + 1)])
    assert refused.value.field == "incidents"
    assert do_create_incidents(requester, []) == []
    assert nothing_written()


def test_a_failure_after_the_batch_rolls_all_of_it_back(requester, vpn_service):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        do_create_incidents(requester, [alert(vpn_service, n) for n in range(3)])
        raise RuntimeError("the caller's own step failed")
    assert nothing_written()
    assert not IncidentSlaClock.objects.exists()


# --- Cost ---------------------------------------------------------------------------------------


def statements(ctx: CaptureQueriesContext) -> list[str]:
    """What reached the database, without the transaction's own bookkeeping."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]


def test_a_single_create_costs_at_most_twelve_statements(requester, vpn_service, query_count):
    actions.do_create_incident(requester, title="Warm", description="", service=vpn_service)
    with query_count() as ctx:
        actions.do_create_incident(
            requester, title="VPN down", description="*Again*", service=vpn_service, urgency=2
        )
    # The service's visibility, the ids, the SLA policy and its calendar (periods, holidays),
    # the chain head; one insert each for the incident, affected user, follower, clocks, audit
    # entry and event.
    assert len(statements(ctx)) <= 12 + LOCKS
    assert len(ctx) <= 16 + LOCKS


def insert_statements(model, rows: int, *, with_pk: bool = False) -> int:
    """How many INSERTs bulk_create sends for ``rows`` rows: one, unless the backend caps the
    parameters of a statement (Django 5.2 assumes SQLite's old 999)."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))


def test_a_batch_costs_the_same_queries_for_one_incident_and_for_fifty(
    requester, vpn_service, query_count
):
    do_create_incidents(requester, [alert(vpn_service)])

    def cost(size: int) -> Counter[str]:
        with query_count() as ctx:
            do_create_incidents(requester, [alert(vpn_service, n) for n in range(size)])
        kinds: Counter[str] = Counter()
        for sql in statements(ctx):
            kinds[sql.split('"')[1] if sql.startswith("INSERT") else "read"] += 1
        return kinds

    one, fifty = cost(1), cost(50)
    assert one["read"] == fifty["read"] <= 6 + LOCKS
    expected = {
        "incidents_incident": insert_statements(Incident, 50, with_pk=True),
        "incidents_affecteduser": insert_statements(AffectedUser, 50),
        "incidents_incidentfollower": insert_statements(IncidentFollower, 50),
        "incidents_incidentslaclock": insert_statements(IncidentSlaClock, 100),
        "audit_auditentry": insert_statements(AuditEntry, 50),
        "core_event": insert_statements(Event, 50),
    }
    assert {table: fifty[table] for table in expected} == expected
    assert all(one[table] == 1 for table in expected)
    if connection.vendor == "postgresql":
        assert fifty == one


# --- Numbers when batches run at the same time -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_get_distinct_numbers_and_one_chain(requester, vpn_service):
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def report(k: int) -> None:
        try:
            start.wait()
            do_create_incidents(requester, [alert(vpn_service, 100 * k + n) for n in range(40)])
            actions.do_create_incident(
                requester, title=f"Single {k}", description="", service=vpn_service
            )
        except BaseException as error:  # handed to the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rows = list(Incident.objects.values_list("pk", "number"))
    assert len(rows) == 3 * 41
    assert all(number == f"INC-{pk:06d}" for pk, number in rows)
    assert trail.verify() == trail.VerifyResult(True, AuditEntry.objects.count())


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def agent_api(vpn_agent) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(vpn_agent)}"})


@pytest.fixture
def requester_api(requester) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})


def test_the_api_records_a_batch_and_answers_with_the_addresses(
    agent_api, requester, vpn_service, sso_service, capture_events
):
    item = catalog_actions.do_create_configuration_item(None, service=vpn_service, name="vpn-gw")
    body = {
        "incidents": [
            {"title": "Gateway down", "service": "vpn", "configuration_item": item.pk},
            {
                "title": "Login slow",
                "service": sso_service.slug,
                "reporter": requester.pk,
                "urgency": 1,
            },
        ]
    }
    with capture_events() as events:
        response = agent_api.post("/api/v1/incidents/batch", body)

    assert response.status_code == 201, response.content
    created = json.loads(response.content)["incidents"]
    first, second = (Incident.objects.get(pk=c["id"]) for c in created)
    assert [c["number"] for c in created] == [first.number, second.number]
    assert first.configuration_item == item and first.source == "api"
    assert second.reporter == requester and second.service == sso_service
    assert len(events) == 2
    detail = agent_api.get(created[1]["url"])
    assert detail.status_code == 200 and json.loads(detail.content)["title"] == "Login slow"


@pytest.mark.parametrize(
    ("report", "pointer"),
    [
        ({"title": "x", "service": "no-such-service"}, "/incidents/1/service"),
        ({"title": "x", "service": "secops"}, "/incidents/1/service"),
        (
            {"title": "x", "service": "vpn", "configuration_item": 999_999},
            "/incidents/1/configuration_item",
        ),
        ({"title": "x", "service": "vpn", "reporter": 999_999}, "/incidents/1/reporter"),
        ({"title": "   ", "service": "vpn"}, "/incidents/1/title"),
        ({"title": "x", "service": "vpn", "urgency": 4}, "/incidents/1/urgency"),
        ({"title": "x", "service": "vpn", "colour": "red"}, "/incidents/1/colour"),
    ],
)
def test_the_api_refuses_a_batch_with_a_bad_report_and_records_nothing(
    requester_api, vpn_service, security_service, report, pointer
):
    body = {"incidents": [{"title": "fine", "service": "vpn"}, report]}
    problem = assert_problem(requester_api.post("/api/v1/incidents/batch", body), 422, "invalid")
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert nothing_written()


def test_the_api_refuses_reports_for_others_from_requesters(
    requester_api, other_requester, vpn_service
):
    body = {"incidents": [{"title": "x", "service": "vpn", "reporter": other_requester.pk}]}
    problem = assert_problem(requester_api.post("/api/v1/incidents/batch", body), 403, "forbidden")
    assert problem["errors"][0]["pointer"] == "/incidents/0"
    assert nothing_written()


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
def test_the_api_refuses_empty_and_oversized_batches(agent_api, vpn_service, size):
    body = {"incidents": [{"title": f"t{n}", "service": "vpn"} for n in range(size)]}
    assert_problem(agent_api.post("/api/v1/incidents/batch", body), 422, "invalid")
    assert nothing_written()


def test_a_batch_counts_as_one_write_against_the_rate_limit(settings, agent_api, vpn_service):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api-write": (1, 60)}
    body = {"incidents": [{"title": f"t{n}", "service": "vpn"} for n in range(20)]}
    assert agent_api.post("/api/v1/incidents/batch", body).status_code == 201
    assert_problem(agent_api.post("/api/v1/incidents/batch", body), 429, "rate_limited")
    assert Incident.objects.count() == 20


def test_read_tokens_cannot_report(requester, vpn_service):
    caller = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester, 'read')}"})
    body = {"incidents": [{"title": "x", "service": "vpn"}]}
    assert_problem(caller.post("/api/v1/incidents/batch", body), 403)
    assert nothing_written()


def test_created_at_is_one_instant_for_the_batch(requester, vpn_service):
    incidents = do_create_incidents(requester, [alert(vpn_service, n) for n in range(3)])
    stored = Incident.objects.filter(pk__in=[i.pk for i in incidents])
    assert {i.created_at for i in stored} == {incidents[0].created_at}
    assert list(stored.order_by("-created_at", "-id")) == list(reversed(incidents))
