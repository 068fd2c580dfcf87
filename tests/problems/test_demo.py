"""The demo's problems: a published known error on the VPN, made once."""

from __future__ import annotations

from hashdesk.accounts.models import User
from hashdesk.demo.problems import load_problems
from hashdesk.incidents.models import Incident
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem


def test_demo_problems_are_made_once(problem_manager: User, vpn_incidents: list[Incident]) -> None:
    assert load_problems() == {"problems": 1}
    problem = Problem.objects.get()
    assert problem.state == ProblemState.KNOWN_ERROR
    assert problem.known_error_article is not None
    assert problem.incident_links.count() == 3
    assert load_problems() == {}
