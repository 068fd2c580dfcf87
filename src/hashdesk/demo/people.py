"""The demo organisation's 500 people, generated from a fixed seed.

The plan is pure data computed from ``random.Random(seed)``: the same seed gives the same
people, in the same teams, with the same roles, on every machine and every run — whatever is
already in the database. The loader then creates only the people that are missing.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from itertools import product

from hashdesk.accounts.choices import Role, TeamRole
from hashdesk.demo.catalogue import DEMO_DOMAIN, TEAMS
from hashdesk.demo.names import DEPARTMENTS, FIRST_NAMES, LAST_NAMES, SITES

DEMO_SEED = 2024
DEMO_PEOPLE = 500
DEMO_PASSWORD = "hashdesk-demo"

IT_DEPARTMENT = "IT"
EXECUTIVE_OFFICE = "Executive Office"
EXECUTIVES = 8
CHANGE_ADVISORY_BOARD = "Change Advisory Board"
# Team leads who also sit on the Change Advisory Board.
CAB_TEAMS = ("Network", "Data Centre", "Security", "Workplace", "ERP Support")


@dataclass(frozen=True)
class PersonPlan:
    email: str
    display_name: str
    department: str
    site: str
    time_zone: str
    roles: tuple[str, ...]
    # (team name, team role)
    teams: tuple[tuple[str, str], ...] = ()
    is_vip: bool = False
    # Demo sign-ins are the only people with a usable password.
    can_sign_in: bool = False


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    display_name: str


DEMO_ACCOUNTS = (
    PersonPlan(
        f"requester@{DEMO_DOMAIN}", "Demo Requester", "Finance", "Building A", "Europe/Berlin",
        (Role.REQUESTER,), can_sign_in=True,
    ),
    PersonPlan(
        f"agent@{DEMO_DOMAIN}", "Demo Agent", IT_DEPARTMENT, "Building A", "Europe/Berlin",
        (Role.AGENT,), (("Service Desk", TeamRole.MEMBER), ("Network", TeamRole.MEMBER)),
        can_sign_in=True,
    ),
    PersonPlan(
        f"problem.manager@{DEMO_DOMAIN}", "Demo Problem Manager", IT_DEPARTMENT, "Building A",
        "Europe/Berlin", (Role.PROBLEM_MANAGER,), (("Service Desk", TeamRole.MEMBER),),
        can_sign_in=True,
    ),
    PersonPlan(
        f"change.manager@{DEMO_DOMAIN}", "Demo Change Manager", IT_DEPARTMENT, "Building A",
        "Europe/Berlin", (Role.CHANGE_MANAGER,), ((CHANGE_ADVISORY_BOARD, TeamRole.LEAD),),
        can_sign_in=True,
    ),
    PersonPlan(
        f"admin@{DEMO_DOMAIN}", "Demo Administrator", IT_DEPARTMENT, "Building A",
        "Europe/Berlin", (Role.ADMINISTRATOR,), can_sign_in=True,
    ),
)  # fmt: skip


def demo_sign_ins() -> list[DemoAccount]:
    """What ``hashdesk run`` prints: one sign-in per role."""
    return [
        DemoAccount(plan.email, Role(plan.roles[0]).label, plan.display_name)
        for plan in DEMO_ACCOUNTS
    ]


def _ascii_local_part(text: str) -> str:
    """'Sørensen' -> 'sorensen', "O'Brien" -> 'obrien': e-mail local parts stay plain ASCII."""
    folded = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    return "".join(ch for ch in folded.lower() if ch.isascii() and ch.isalnum())


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = self.rng.sample(list(product(FIRST_NAMES, LAST_NAMES)), DEMO_PEOPLE)
        self.taken = {plan.email for plan in DEMO_ACCOUNTS}

    def _email(self, first: str, last: str) -> str:
        base = f"{_ascii_local_part(first)}.{_ascii_local_part(last)}"
        candidate, number = base, 1
        while f"{candidate}@{DEMO_DOMAIN}" in self.taken:
            number += 1
            candidate = f"{base}{number}"
        email = f"{candidate}@{DEMO_DOMAIN}"
        self.taken.add(email)
        return email

    def _site(self) -> tuple[str, str]:
        site, zone, _share = self.rng.choices(SITES, weights=[s[2] for s in SITES])[0]
        return site, zone

    def person(
        self,
        department: str,
        roles: tuple[str, ...] = (Role.REQUESTER,),
        teams: tuple[tuple[str, str], ...] = (),
        *,
        is_vip: bool = False,
    ) -> PersonPlan:
        first, last = self.names.pop()
        site, zone = self._site()
        return PersonPlan(
            self._email(first, last), f"{first} {last}", department, site, zone, roles, teams,
            is_vip=is_vip,
        )  # fmt: skip


def _it_staff(gen: _Generator) -> list[PersonPlan]:
    """Agents in every team; the first of each team leads it; some manage problems or changes."""
    staff = []
    problem_managers_left, change_managers_left = 2, 3
    for team in TEAMS:
        for position in range(team.size):
            roles: list[str] = [Role.AGENT]
            teams = [(team.name, TeamRole.LEAD if position == 0 else TeamRole.MEMBER)]
            if position == 0 and team.name in CAB_TEAMS:
                teams.append((CHANGE_ADVISORY_BOARD, TeamRole.MEMBER))
            elif position == 1 and problem_managers_left:
                roles.append(Role.PROBLEM_MANAGER)
                problem_managers_left -= 1
            elif position == 2 and change_managers_left:
                roles.append(Role.CHANGE_MANAGER)
                teams.append((CHANGE_ADVISORY_BOARD, TeamRole.MEMBER))
                change_managers_left -= 1
            staff.append(gen.person(IT_DEPARTMENT, tuple(roles), tuple(teams)))
    # The IT operations manager administers Hashdesk besides the demo administrator.
    staff.append(gen.person(IT_DEPARTMENT, (Role.ADMINISTRATOR, Role.AGENT)))
    return staff


def plan_people(seed: int = DEMO_SEED) -> list[PersonPlan]:
    """Every person of the demo organisation, demo sign-ins first."""
    gen = _Generator(seed)
    people = list(DEMO_ACCOUNTS)
    people += _it_staff(gen)
    people += [gen.person(EXECUTIVE_OFFICE, is_vip=True) for _ in range(EXECUTIVES)]
    remaining = DEMO_PEOPLE - len(people)
    departments = [name for name, _share in DEPARTMENTS]
    # Every department gets its head (a VIP) first; the rest are drawn by department size.
    people += [gen.person(name, is_vip=True) for name in departments]
    remaining -= len(departments)
    drawn = gen.rng.choices(departments, weights=[s for _n, s in DEPARTMENTS], k=remaining)
    people += [gen.person(name) for name in sorted(drawn, key=departments.index)]
    return people
