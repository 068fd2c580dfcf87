"""Freeze and maintenance windows: only change managers keep them; bad input changes nothing."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.changes.choices import WindowKind
from hashdesk.changes.models import ChangeWindow
from hashdesk.changes.windows import do_create_window, do_delete_window, windows_between
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.models import Event
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.schedule_support import at

pytestmark = pytest.mark.django_db

WINDOWS = "/api/v1/changes/windows"


def api_as(person, scope="write"):
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, scope)}"})


def freeze(actor, **fields):
    fields = {
        "kind": WindowKind.FREEZE,
        "name": "Year-end freeze",
        "starts_at": at(20, 0),
        "ends_at": at(27, 0),
        **fields,
    }
    return do_create_window(actor, **fields)


def counts():
    return ChangeWindow.objects.count(), AuditEntry.objects.count(), Event.objects.count()


def test_a_change_manager_creates_a_window_with_audit_and_event(
    change_manager, vpn_service, capture_events
):
    with capture_events() as events:
        window = freeze(change_manager, name="  VPN freeze ", services=[vpn_service])

    assert window.name == "VPN freeze"
    assert list(window.services.all()) == [vpn_service]
    entry = AuditEntry.objects.get(action="change_window.create")
    assert entry.actor_id == change_manager.pk
    assert entry.after["service_ids"] == [vpn_service.pk]
    [event] = events
    assert (event.type, event.op, event.streams) == ("change_window", "create", ["members"])
    assert event.payload["window"]["name"] == "VPN freeze"


@pytest.mark.parametrize("role", ["vpn_agent", "requester"])
def test_only_change_managers_keep_windows(role, request, change_manager):
    person = request.getfixturevalue(role)
    window = freeze(change_manager)
    before = counts()

    with pytest.raises(Forbidden):
        freeze(person)
    with pytest.raises(Forbidden):
        do_delete_window(person, window)

    assert counts() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": at(20, 0)}, "ends_at"),
        ({"ends_at": at(19, 0)}, "ends_at"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"kind": "holiday"}, "kind"),
        ({"starts_at": datetime(2031, 3, 20)}, "starts_at"),  # a naive time
    ],
)
def test_bad_windows_are_refused_and_nothing_changes(fields, field, change_manager):
    before = counts()

    with pytest.raises(ValidationFailed) as refused:
        freeze(change_manager, **fields)

    assert refused.value.field == field
    assert counts() == before


def test_a_change_manager_deletes_a_window(change_manager, vpn_service, capture_events):
    window = freeze(change_manager, services=[vpn_service])
    window_id = window.pk

    with capture_events() as events:
        do_delete_window(change_manager, window)

    assert not ChangeWindow.objects.filter(pk=window_id).exists()
    entry = AuditEntry.objects.get(action="change_window.delete")
    assert entry.before["service_ids"] == [vpn_service.pk]
    assert [(e.type, e.op) for e in events] == [("change_window", "delete")]


def test_windows_of_a_service_include_those_for_every_service(
    change_manager, requester, vpn_service, sso_service, django_assert_num_queries
):
    everywhere = freeze(change_manager, name="Everywhere")
    vpn_nights = freeze(
        change_manager, kind="maintenance", name="VPN nights", services=[vpn_service]
    )
    freeze(change_manager, name="SSO only", services=[sso_service])
    freeze(change_manager, name="Later", starts_at=at(28, 0), ends_at=at(29, 0))

    assert requester.roles  # read once per person and request; not part of the listing

    with django_assert_num_queries(2):
        found = list(windows_between(requester, at(1, 0), at(28, 0), service=vpn_service))

    assert found == [everywhere, vpn_nights]
    assert [list(w.services.all()) for w in found] == [[], [vpn_service]]
    assert windows_between(requester, at(1, 0), at(28, 0), kind="maintenance").get() == vpn_nights


def test_confidential_services_of_a_window_are_not_named_to_requesters(
    change_manager, requester, vpn_agent, vpn_service, security_service
):
    freeze(change_manager, services=[vpn_service, security_service])

    [seen] = windows_between(requester, at(1, 0), at(28, 0))
    [seen_by_staff] = windows_between(vpn_agent, at(1, 0), at(28, 0))

    assert list(seen.services.all()) == [vpn_service]
    assert list(seen_by_staff.services.all()) == [security_service, vpn_service]


# --- API ----------------------------------------------------------------------------------------


def window_body(**fields):
    return {
        "kind": "maintenance",
        "name": "VPN nights",
        "starts_at": "2031-03-09T01:00:00+01:00",
        "ends_at": "2031-03-09T05:00:00+01:00",
        "services": ["vpn"],
        **fields,
    }


def test_api_creates_lists_and_deletes_windows(change_manager, requester, vpn_service):
    manager = api_as(change_manager)

    created = manager.post(WINDOWS, window_body())

    assert created.status_code == 201, created.content
    window = json.loads(created.content)
    assert window["kind"] == "maintenance" and window["services"] == ["VPN"]
    assert window["starts_at"].startswith("2031-03-09T00:00:00")
    listed = api_as(requester, "read").get(
        WINDOWS, data={"from": "2031-03-01T00:00:00Z", "to": "2031-04-01T00:00:00Z"}
    )
    assert listed.status_code == 200
    assert [w["id"] for w in json.loads(listed.content)] == [window["id"]]

    deleted = manager.delete(f"{WINDOWS}/{window['id']}")

    assert deleted.status_code == 204
    assert not ChangeWindow.objects.exists()


def test_api_refuses_windows_from_others_and_bad_input(change_manager, vpn_agent, vpn_service):
    agent, manager = api_as(vpn_agent), api_as(change_manager)
    before = counts()

    assert_problem(agent.post(WINDOWS, window_body()), 403)
    assert_problem(manager.post(WINDOWS, window_body(ends_at="2031-03-09T00:30:00+01:00")), 422)
    assert_problem(manager.post(WINDOWS, window_body(services=["nope"])), 422)
    assert_problem(manager.post(WINDOWS, window_body(starts_at="2031-03-09T01:00:00")), 422)
    assert_problem(manager.delete(f"{WINDOWS}/999999"), 404)

    assert counts() == before


def test_api_window_list_needs_a_bounded_range(requester):
    reader = api_as(requester, "read")

    assert_problem(reader.get(WINDOWS, data={"from": "2031-03-01T00:00:00Z"}), 422)
    assert_problem(
        reader.get(WINDOWS, data={"from": "2031-03-01T00:00:00Z", "to": "2033-03-01T00:00:00Z"}),
        422,
    )
