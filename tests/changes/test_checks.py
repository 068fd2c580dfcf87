"""After the change: "did this break anything for you?" (docs/changes.md, "After the change")."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.changes import checks
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import Change, ChangeCheck
from hashdesk.core.errors import Conflict, NotFound, ValidationFailed
from hashdesk.notify.models import Notification
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.comms_support import scheduled_change

pytestmark = pytest.mark.django_db


def completed(owner: User, services: list[Service], *, hours_ago: int = 1) -> Change:
    ended = timezone.now() - timedelta(hours=hours_ago)
    change = scheduled_change(owner, services, ended - timedelta(hours=2), state=ChangeState.REVIEW)
    change.actual_start, change.actual_end = ended - timedelta(hours=2), ended
    change.save()
    return change


def test_a_broken_answer_is_kept_and_tells_the_owner(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    change = completed(vpn_agent, [vpn_service])

    check = checks.do_answer_check(requester, change, broken=True, comment="  VPN asks twice  ")

    assert (check.broken, check.comment, check.user) == (True, "VPN asks twice", requester)
    [notice] = Notification.objects.filter(recipient=vpn_agent)
    assert notice.kind == "change.check_broken"
    assert "VPN asks twice" in notice.body and notice.url == f"/changes/{change.number}/"
    assert AuditEntry.objects.filter(action="changes.check").count() == 1
    assert checks.check_counts(change) == {"answers": 1, "broken": 1}


def test_a_fine_answer_tells_nobody(requester: User, vpn_agent: User, vpn_service: Service) -> None:
    change = completed(vpn_agent, [vpn_service])
    checks.do_answer_check(requester, change, broken=False)
    assert not Notification.objects.exists()
    assert checks.check_counts(change) == {"answers": 1, "broken": 0}


def test_each_person_answers_once(requester: User, vpn_agent: User, vpn_service: Service) -> None:
    change = completed(vpn_agent, [vpn_service])
    checks.do_answer_check(requester, change, broken=False)
    with pytest.raises(Conflict):
        checks.do_answer_check(requester, change, broken=True)
    assert ChangeCheck.objects.get().broken is False


def test_answers_are_taken_for_24_hours_after_the_end_only(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    change = completed(vpn_agent, [vpn_service], hours_ago=25)
    with pytest.raises(Conflict):
        checks.do_answer_check(requester, change, broken=True)
    not_done = scheduled_change(vpn_agent, [vpn_service], timezone.now() + timedelta(days=1))
    with pytest.raises(Conflict):
        checks.do_answer_check(requester, not_done, broken=True)
    assert not ChangeCheck.objects.exists() and not Notification.objects.exists()


def test_bad_input_and_hidden_changes_are_refused(
    requester: User, vpn_agent: User, vpn_service: Service, security_service: Service
) -> None:
    change = completed(vpn_agent, [vpn_service])
    with pytest.raises(ValidationFailed):
        checks.do_answer_check(requester, change, broken=True, comment="x" * 2001)
    hidden = completed(vpn_agent, [security_service])
    with pytest.raises(NotFound):
        checks.do_answer_check(requester, hidden, broken=True)
    assert not ChangeCheck.objects.exists()


def test_answering_through_the_api(requester: User, vpn_agent: User, vpn_service: Service) -> None:
    change = completed(vpn_agent, [vpn_service])
    api = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})
    path = f"/api/v1/changes/{change.number}/checks"

    answered = api.post(path, {"broken": True, "comment": "Printing fails since"})

    assert answered.status_code == 201, answered.content
    body = json.loads(answered.content)
    assert (body["change"], body["broken"], body["comment"]) == (
        change.number,
        True,
        "Printing fails since",
    )
    assert_problem(api.post(path, {"broken": False}), 409)
    assert_problem(api.post(path, {"broken": "yes"}), 422)
    assert_problem(api.post("/api/v1/changes/CHG-999999/checks", {"broken": True}), 404)
