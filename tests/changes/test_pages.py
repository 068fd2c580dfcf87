"""The change pages: the list of what one may see, and a change's page — requesters read the
plan and what it affects, staff also the plans, approvals and conflicts (docs/changes.md,
"Pages")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.changes import actions
from hashdesk.changes.models import Change

pytestmark = pytest.mark.django_db


def _client(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _scheduled(change_manager: User, services: list[Any]) -> Change:
    start = timezone.now() + timedelta(days=3)
    change = actions.do_create_change(
        change_manager,
        type="normal",
        summary="Firmware upgrade of the VPN concentrator",
        description="New firmware fixes the session drops.",
        implementation_plan="Upgrade the standby, fail over, upgrade the primary.",
        backout_plan="Boot the previous image.",
        test_plan="Connect from three sites.",
        services=services,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        time_zone="Europe/Madrid",
    )
    Change.objects.filter(pk=change.pk).update(state="scheduled")
    return Change.objects.get(pk=change.pk)


def test_requesters_read_a_scheduled_change_but_not_its_plans(
    requester: User, change_manager: User, vpn_service: Any
) -> None:
    change = _scheduled(change_manager, [vpn_service])
    listing = _client(requester).get("/changes/").content.decode()
    assert change.number in listing and "Firmware upgrade" in listing
    page = _client(requester).get(f"/changes/{change.number}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "VPN" in html and "Europe/Madrid" in html
    assert "Boot the previous image" not in html and "Approvals" not in html
    staff = _client(change_manager).get(f"/changes/{change.number}/").content.decode()
    assert "Boot the previous image" in staff and "Approvals" in staff


def test_drafts_and_unknown_changes_are_not_found_for_requesters(
    requester: User, change_manager: User, vpn_service: Any
) -> None:
    draft = actions.do_create_change(
        change_manager, type="normal", summary="Not decided yet", services=[vpn_service]
    )
    assert _client(requester).get(f"/changes/{draft.number}/").status_code == 404
    assert _client(requester).get("/changes/CHG-999999/").status_code == 404
    assert "Not decided yet" not in _client(requester).get("/changes/").content.decode()
    assert _client(change_manager).get(f"/changes/{draft.number}/").status_code == 200


def test_the_list_costs_the_same_queries_for_few_and_many_changes(
    requester: User, change_manager: User, vpn_service: Any, query_count: Any
) -> None:
    _scheduled(change_manager, [vpn_service])
    client = _client(requester)
    client.get("/changes/")
    with query_count() as few:
        client.get("/changes/")
    for _ in range(5):
        _scheduled(change_manager, [vpn_service])
    with query_count() as many:
        client.get("/changes/")
    assert len(many) == len(few)


def test_affected_people_answer_whether_it_broke_anything_once_within_a_day(
    requester: User, change_manager: User, vpn_service: Any
) -> None:
    from hashdesk.changes.models import ChangeCheck

    change = _scheduled(change_manager, [vpn_service])
    ended = timezone.now() - timedelta(hours=1)
    Change.objects.filter(pk=change.pk).update(
        state="review", actual_start=ended - timedelta(hours=2), actual_end=ended
    )
    client = _client(requester)
    page = client.get(f"/changes/{change.number}/").content.decode()
    assert "Did this change break anything for you?" in page
    refused = client.post(f"/changes/{change.number}/check/", {"broken": "maybe"})
    assert refused.status_code == 400 and not ChangeCheck.objects.exists()
    answered = client.post(
        f"/changes/{change.number}/check/", {"broken": "yes", "comment": "VPN client lost config"}
    )
    assert answered.status_code == 302
    check = ChangeCheck.objects.get()
    assert (check.user, check.broken) == (requester, True)
    assert "Did this change break anything for you?" not in (
        client.get(f"/changes/{change.number}/").content.decode()
    )
    again = client.post(f"/changes/{change.number}/check/", {"broken": "no"})
    assert again.status_code == 400 and ChangeCheck.objects.count() == 1
