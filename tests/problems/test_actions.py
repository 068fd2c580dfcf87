"""Problem records: create, link, update with versions, the lifecycle, who may."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_manage_problems, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems.actions import (
    do_create_problem,
    do_link_incidents,
    do_transition,
    do_unlink_incident,
    do_update_problem,
)
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem, ProblemIncident


def test_create_numbers_links_and_audits(
    problem_manager: User,
    vpn_incidents: list[Incident],
    vpn_service: Service,
    capture_events: Callable[[], Any],
) -> None:
    with capture_events() as events:
        problem = do_create_problem(
            problem_manager,
            title="VPN drops",
            incident_ids=[i.pk for i in vpn_incidents],
        )
    assert problem.number == f"PRB-{problem.pk:06d}"
    assert problem.state == ProblemState.NEW
    assert problem.owner == problem_manager
    assert list(problem.services.all()) == [vpn_service]
    assert ProblemIncident.objects.filter(problem=problem).count() == 3
    assert [(e.type, e.op, e.streams) for e in events] == [("problem", "create", ["staff"])]
    entry = AuditEntry.objects.get(action="problem.create")
    assert entry.after["incidents"] == sorted(i.pk for i in vpn_incidents)


def test_requesters_may_not_create_nor_see(
    requester: User, problem_manager: User, vpn_problem: Problem
) -> None:
    assert not can_manage_problems(requester)
    with pytest.raises(Forbidden):
        do_create_problem(requester, title="Mine")
    assert not visible_to(requester, Problem.objects.all()).exists()
    assert visible_to(problem_manager, Problem.objects.all()).get() == vpn_problem
    assert not visible_to(requester, ProblemIncident.objects.all()).exists()


def test_agents_manage_problems_but_change_managers_do_not(
    vpn_agent: User, change_manager: User
) -> None:
    assert can_manage_problems(vpn_agent)
    assert not can_manage_problems(change_manager)
    assert do_create_problem(vpn_agent, title="Printers jam").number


def test_title_is_required(problem_manager: User) -> None:
    with pytest.raises(ValidationFailed) as error:
        do_create_problem(problem_manager, title="  ")
    assert error.value.field == "title"


def test_unknown_incident_is_not_found(problem_manager: User) -> None:
    with pytest.raises(NotFound):
        do_create_problem(problem_manager, title="x", incident_ids=[999_999])


def test_link_is_idempotent_and_adds_services(
    problem_manager: User,
    requester: User,
    sso_service: Service,
    vpn_problem: Problem,
    report: Callable[..., Incident],
) -> None:
    extra = report(requester, sso_service, "Sign-in loops after VPN reconnect")
    links = do_link_incidents(problem_manager, vpn_problem, [extra.pk])
    assert [link.incident_id for link in links] == [extra.pk]
    assert do_link_incidents(problem_manager, vpn_problem, [extra.pk]) == []
    assert sso_service in vpn_problem.services.all()
    do_unlink_incident(problem_manager, vpn_problem, extra.pk)
    assert not ProblemIncident.objects.filter(problem=vpn_problem, incident=extra).exists()
    with pytest.raises(NotFound):
        do_unlink_incident(problem_manager, vpn_problem, extra.pk)


def test_update_checks_the_version(problem_manager: User, vpn_problem: Problem) -> None:
    updated = do_update_problem(
        problem_manager,
        vpn_problem,
        expected_version=vpn_problem.version,
        root_cause="The Wi-Fi controller drops idle sessions after 600 s.",
    )
    assert updated.version == vpn_problem.version + 1
    with pytest.raises(Conflict) as error:
        do_update_problem(
            problem_manager, vpn_problem, expected_version=vpn_problem.version, title="Other"
        )
    assert error.value.field == "version"
    entry = AuditEntry.objects.filter(action="problem.update").get()
    assert entry.before == {"root_cause": ""}
    assert entry.after["root_cause"].startswith("The Wi-Fi controller")


def test_update_rejects_unknown_fields(problem_manager: User, vpn_problem: Problem) -> None:
    with pytest.raises(ValidationFailed):
        do_update_problem(problem_manager, vpn_problem, expected_version=1, state="closed")


def test_lifecycle_and_clear_conflicts(problem_manager: User, vpn_problem: Problem) -> None:
    problem = do_transition(problem_manager, vpn_problem, "investigating")
    with pytest.raises(Conflict) as error:
        do_transition(problem_manager, problem, "known_error")
    assert "publishing its workaround" in error.value.detail
    with pytest.raises(ValidationFailed):
        do_transition(problem_manager, problem, "resolved")
    problem = do_transition(
        problem_manager, problem, "resolved", resolution="Controller timeout raised."
    )
    assert problem.watch_until is not None and problem.resolved_at is not None
    with pytest.raises(Conflict) as error:
        do_transition(problem_manager, problem, "new")
    assert error.value.extra["allowed"] == ["investigating", "closed"]
    problem = do_transition(problem_manager, problem, "closed")
    with pytest.raises(Conflict):
        do_transition(problem_manager, problem, "investigating")
