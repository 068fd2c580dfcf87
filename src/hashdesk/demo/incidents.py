"""A year of the demo organisation's incidents, planned from a seed: pure data, no database.

``plan_history(seed, count, now)`` returns every incident of the last 365 days as plain data —
what was reported, by whom, on which service and channel, who said "me too", who worked on it
and when each step of its lifecycle happened — in creation order, so the loader can number them
from their primary keys. The same seed, count and ``now`` give the same plan on every machine;
what is said and by whom does not depend on ``now`` at all (only when).

What makes it look like a real desk:

- **when**: reports follow office hours in Europe/Berlin (busy mornings, a lunch dip, quiet
  nights and weekends, fewer in August and over Christmas); monitoring alerts come at any hour.
- **what**: each service has its own recurring issues (``incident_texts``), more incidents on
  the services people touch every day (e-mail, laptops, VPN, printing) than on infrastructure.
- **outages**: a few dozen bursts a year on one service: a first report, a crowd of "me too"
  within the hour, some duplicates merged into it; the worst become major incidents with a
  commander and an official update every 30 minutes until resolved.
- **lifecycle**: assignment to the service's owner team and one of its agents, in progress,
  sometimes on hold (awaiting the requester or a supplier), public updates and work notes,
  resolution after a time that depends on the priority (most within their SLA, some not),
  closure by the system ``auto_close_days`` later; a few are cancelled by their reporter. Only
  recent incidents are still open. The desk works office hours (``DESK_HOURS``) except on P1s.
- **impact**: the impact policy (``incidents.impact``) raises impact as affected people pile
  up, exactly as the actions do, and priority always follows the matrix
  (``incidents.priority.priority_for``).

People, teams and incidents are named by natural keys (e-mail, team name, position in the plan):
the loader resolves them to primary keys.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hashdesk.accounts.choices import STAFF_ROLES, TeamRole
from hashdesk.catalog.choices import Visibility
from hashdesk.demo import incident_texts as texts
from hashdesk.demo.catalogue import SERVICES, ServicePlan
from hashdesk.demo.people import IT_DEPARTMENT, PersonPlan, plan_people
from hashdesk.incidents.choices import (
    Channel,
    HoldReason,
    ImpactSource,
    ResolutionCode,
    State,
    TimelineKind,
)
from hashdesk.incidents.impact import Signals, rescored_impact
from hashdesk.incidents.priority import LEVELS, priority_for
from hashdesk.sla.business_time import CalendarSnapshot, add_business_minutes

DEMO_INCIDENTS = 30_000
HISTORY_DAYS = 365
LOCAL_ZONE = ZoneInfo("Europe/Berlin")
# When the desk works on anything but a P1 (P1s are worked round the clock).
DESK_HOURS = CalendarSnapshot.weekly("Europe/Berlin", range(5), time(8), time(18))
MAJOR_CADENCE_MINUTES = 30
# Outages bad enough to become major incidents.
# The service of the outage still going on when the demo is loaded.
CURRENT_OUTAGE = "vpn"
MAJOR_SERVICES = ("email", "vpn", "sso", "erp", "internet", "wifi-b", "fileshares")
DEMO_REQUESTER = "requester@"

# How many incidents each service gets, relative to the others.
SERVICE_WEIGHTS = {
    "email": 9, "laptops": 9, "vpn": 8, "printing": 8, "erp": 6, "sso": 5, "mfa": 5, "chat": 5,
    "video": 5, "software": 5, "wifi-a": 4, "mobile": 4, "fileshares": 4, "wifi-b": 3,
    "wifi-c": 3, "telephony": 3, "rdp": 3, "hr": 3, "crm": 3, "intranet": 2, "procurement": 2,
    "reporting": 2, "directory": 2, "mdm": 2, "edr": 2, "secops": 2, "backup": 1.5,
    "website": 1.5, "servicedesk": 1.5, "internet": 1.5, "database": 1, "dns": 1, "dhcp": 1,
    "nac": 1, "payroll": 1, "storage": 0.8, "virtualisation": 0.8, "firewall": 0.7,
    "corenet": 0.7, "pam": 0.5, "dcpower": 0.3,
}  # fmt: skip
# Services nobody outside IT uses directly: mostly found by monitoring.
MONITORED = frozenset({
    "dcpower", "corenet", "storage", "virtualisation", "database", "backup", "firewall", "dns",
    "dhcp", "nac", "pam",
})  # fmt: skip
# Who reports on a service whose users are a small group.
REPORTING_DEPARTMENTS = {"payroll": ("Human Resources", "Finance")}
SITE_OF_SERVICE = {"wifi-a": "Building A", "wifi-b": "Building B", "wifi-c": "Building C"}

PEOPLE_CHANNELS = (Channel.WEB, Channel.EMAIL, Channel.WALL, Channel.CHAT, Channel.API,
                   Channel.ALERT)  # fmt: skip
PEOPLE_CHANNEL_WEIGHTS = (34, 24, 16, 16, 4, 6)
MONITORED_CHANNELS = (Channel.ALERT, Channel.EMAIL, Channel.WEB, Channel.CHAT, Channel.API)
MONITORED_CHANNEL_WEIGHTS = (55, 15, 15, 10, 5)
ME_TOO_CHANNELS = (Channel.WALL, Channel.WEB, Channel.CHAT, Channel.API)
ME_TOO_CHANNEL_WEIGHTS = (50, 30, 15, 5)

# Office-hour shape of reports (local hour 0..23) and of the week (Monday = 0).
HOUR_WEIGHTS = (0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.1, 0.45, 1.0, 1.4, 1.3, 1.1, 0.7, 1.0,
                1.1, 1.0, 0.8, 0.5, 0.25, 0.15, 0.1, 0.08, 0.05, 0.03)  # fmt: skip
WEEKDAY_WEIGHTS = (1.15, 1.0, 1.0, 1.0, 0.85, 0.12, 0.08)

# Medians of how long the desk takes, by priority: response and resolution, in business minutes
# of DESK_HOURS (P1: real minutes). Drawn log-normally around them, so most incidents meet the
# default SLA policies (docs/sla.md) and roughly one in ten does not.
RESPONSE_MEDIAN = {1: 6, 2: 10, 3: 70, 4: 140, 5: 420}
RESOLUTION_MEDIAN = {1: 95, 2: 190, 3: 700, 4: 1150, 5: 2300}
SPREAD = 0.75


# --- The plan's data ------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRef:
    email: str


@dataclass(frozen=True)
class TeamRef:
    name: str


@dataclass
class PlannedEntry:
    """A timeline entry; ``data`` may hold PersonRef / TeamRef for the loader to resolve."""

    kind: str
    at: datetime
    author: str | None
    body: str = ""
    public: bool = True
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedAffected:
    email: str
    channel: str
    at: datetime


@dataclass
class PlannedIncident:
    key: int
    title: str
    description: str
    service: str
    configuration_item: str | None
    category: str
    reporter: str
    impact: int
    impact_source: str
    urgency: int
    priority: int
    source: str
    visibility: str
    created_at: datetime
    state: str = State.NEW
    assignment_group: str | None = None
    assignee: str | None = None
    hold_reason: str = ""
    resolution_code: str = ""
    resolution_notes: str = ""
    updated_at: datetime | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 1
    affected: list[PlannedAffected] = field(default_factory=list)
    followers: list[PlannedAffected] = field(default_factory=list)
    timeline: list[PlannedEntry] = field(default_factory=list)
    # What the SLA clocks need: when each stopped (None: still counting), the on-hold intervals
    # (end None: on hold now) and the priority from each moment on (for re-targeting).
    response_stop: datetime | None = None
    resolution_stop: datetime | None = None
    holds: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    priorities: list[tuple[datetime, int]] = field(default_factory=list)
    is_major: bool = False
    major_declared_at: datetime | None = None
    major_reason: str = ""
    commander: str | None = None
    update_cadence_minutes: int | None = None
    # The key of the incident this one was merged into.
    merged_into: int | None = None

    def priority_at(self, moment: datetime) -> int:
        """The priority in force at ``moment`` (what a clock counting then was targeted to)."""
        current = self.priorities[0][1]
        for since, priority in self.priorities:
            if since <= moment:
                current = priority
        return current


@dataclass(frozen=True)
class _Person:
    email: str
    site: str
    department: str
    is_vip: bool


# --- Helpers --------------------------------------------------------------------------------


def _desk_time(start: datetime, minutes: float, priority: int) -> datetime:
    """``minutes`` of desk work after ``start``: office hours, except round the clock on P1s."""
    if priority == 1:
        return start + timedelta(minutes=minutes)
    return add_business_minutes(DESK_HOURS, start, minutes)


def _lognormal(rng: random.Random, median: float, spread: float = SPREAD) -> float:
    return median * math.exp(rng.gauss(0.0, spread))


def _signals(people: Iterable[_Person]) -> Signals:
    people = list(people)
    return Signals(
        affected_users=len(people),
        sites=len({p.site for p in people if p.site}),
        departments=len({p.department for p in people if p.department}),
        any_vip=any(p.is_vip for p in people),
    )


def _fill(text: str, **values: str) -> str:
    return text.format(**values) if "{" in text else text


def _items(plan: ServicePlan) -> list[str]:
    return [
        f"{prefix}-{number:02d}"
        for prefix, _kind, how_many, _where in plan.items
        for number in range(1, how_many + 1)
    ]


# --- The planner ----------------------------------------------------------------------------


class _Planner:
    def __init__(self, seed: int, now: datetime, auto_close_days: int) -> None:
        self.seed = seed
        self.now = now.astimezone(UTC)
        self.auto_close = timedelta(days=auto_close_days)
        # "What" (services, texts, people) and "when" draw from separate streams, so what is
        # said and by whom does not depend on the day the plan is made.
        self.what = random.Random(f"hashdesk-demo-incidents-what:{seed}")
        self.when = random.Random(f"hashdesk-demo-incidents-when:{seed}")
        self.priority = {(i, u): priority_for(i, u) for i in LEVELS for u in LEVELS}
        self.services = {plan.hashtag: plan for plan in SERVICES}
        self.items = {plan.hashtag: _items(plan) for plan in SERVICES}
        self._people(plan_people(seed))
        self._slots()

    # People and their teams.

    def _people(self, plans: Sequence[PersonPlan]) -> None:
        self.person = {p.email: _Person(p.email, p.site, p.department, p.is_vip) for p in plans}
        self.requesters = [p.email for p in plans if p.department != IT_DEPARTMENT]
        self.it_staff = [p.email for p in plans if set(p.roles) & STAFF_ROLES]
        self.by_site: dict[str, list[str]] = {}
        self.by_department: dict[str, list[str]] = {}
        for p in plans:
            if p.department != IT_DEPARTMENT:
                self.by_site.setdefault(p.site, []).append(p.email)
                self.by_department.setdefault(p.department, []).append(p.email)
        self.members: dict[str, list[str]] = {}
        self.leads: dict[str, str] = {}
        for p in plans:
            if not set(p.roles) & STAFF_ROLES:
                continue
            for team, role in p.teams:
                self.members.setdefault(team, []).append(p.email)
                if role == TeamRole.LEAD:
                    self.leads.setdefault(team, p.email)
        self.demo_requester = next(p.email for p in plans if p.email.startswith(DEMO_REQUESTER))

    # When things happen.

    def _slots(self) -> None:
        """Every whole local hour of the last year that has passed, weighted by office life."""
        today = self.now.astimezone(LOCAL_ZONE).date()
        self.office_slots: list[datetime] = []
        office_weights: list[float] = []
        for days_ago in range(HISTORY_DAYS, -1, -1):
            day = today - timedelta(days=days_ago)
            day_weight = WEEKDAY_WEIGHTS[day.weekday()] * self._season(day)
            for hour in range(24):
                start = datetime.combine(day, time(hour), tzinfo=LOCAL_ZONE).astimezone(UTC)
                if start + timedelta(hours=1) > self.now:
                    break
                self.office_slots.append(start)
                office_weights.append(day_weight * HOUR_WEIGHTS[hour])
        self.office_cumulative = list(_accumulate(office_weights))
        self.first_slot = self.office_slots[0]

    @staticmethod
    def _season(day: date) -> float:
        if (day.month, day.day) >= (12, 23) or (day.month, day.day) <= (1, 2):
            return 0.3
        if day.month == 8:
            return 0.75
        return 1.0

    def office_moment(self) -> datetime:
        slot = self.when.choices(self.office_slots, cum_weights=self.office_cumulative)[0]
        return slot + timedelta(seconds=self.when.randrange(3600))

    def any_moment(self) -> datetime:
        span = (self.now - timedelta(hours=1) - self.first_slot).total_seconds()
        return self.first_slot + timedelta(seconds=self.when.randrange(int(span)))

    # Who and what.

    def reporter_for(self, service: str, channel: str) -> str:
        plan = self.services[service]
        if channel == Channel.ALERT or service in MONITORED or service == "pam":
            # Alerts are raised on behalf of the owner team's on-call engineer.
            return self.what.choice(self.members[plan.owner])
        if service in REPORTING_DEPARTMENTS:
            department = self.what.choice(REPORTING_DEPARTMENTS[service])
            return self.what.choice(self.by_department[department])
        if service in SITE_OF_SERVICE:
            return self.what.choice(self.by_site[SITE_OF_SERVICE[service]])
        if self.what.random() < 0.08:
            return self.what.choice(self.it_staff)
        return self.what.choice(self.requesters)

    def channel_for(self, service: str) -> str:
        if service in MONITORED:
            return self.what.choices(MONITORED_CHANNELS, MONITORED_CHANNEL_WEIGHTS)[0]
        if service == "secops":
            return self.what.choice((Channel.EMAIL, Channel.ALERT, Channel.WEB))
        return self.what.choices(PEOPLE_CHANNELS, PEOPLE_CHANNEL_WEIGHTS)[0]

    def colleagues(self, reporter: str, service: str, how_many: int) -> list[str]:
        """People who say "me too": mostly from the reporter's site, never twice."""
        site = SITE_OF_SERVICE.get(service) or self.person[reporter].site
        chosen: list[str] = []
        taken = {reporter}
        for _ in range(how_many * 3):
            if len(chosen) == how_many:
                break
            pool = self.by_site[site] if self.what.random() < 0.7 else self.requesters
            candidate = self.what.choice(pool)
            if candidate not in taken:
                taken.add(candidate)
                chosen.append(candidate)
        return chosen

    def visibility_for(self, service: str, *, outage: bool) -> str:
        service_visibility = self.services[service].visibility
        if service_visibility == Visibility.CONFIDENTIAL:
            return Visibility.CONFIDENTIAL
        if outage and service_visibility == Visibility.PUBLIC:
            # An outage everyone feels is announced to everyone.
            return Visibility.PUBLIC
        return Visibility.INTERNAL

    def new_incident(
        self,
        key: int,
        service: str,
        issue_title: str,
        issue_description: str,
        category: str,
        impact: int,
        urgency: int,
        reporter: str,
        channel: str,
        created: datetime,
        *,
        outage: bool = False,
    ) -> PlannedIncident:
        items = self.items[service]
        item = self.what.choice(items) if items and (
            channel == Channel.ALERT or self.what.random() < 0.5
        ) else None  # fmt: skip
        values = {
            "site": self.person[reporter].site or "the office",
            "ci": item or (items[0] if items else service),
            "n": str(self.what.randint(2, 12)),
        }
        incident = PlannedIncident(
            key=key,
            title=_fill(issue_title, **values),
            description=_fill(issue_description, **values),
            service=service,
            configuration_item=item,
            category=category,
            reporter=reporter,
            impact=impact,
            impact_source=ImpactSource.MANUAL if impact != 3 else ImpactSource.POLICY,
            urgency=urgency,
            priority=self.priority[(impact, urgency)],
            source=channel,
            visibility=self.visibility_for(service, outage=outage),
            created_at=created,
        )
        incident.affected.append(PlannedAffected(reporter, channel, created))
        incident.followers.append(PlannedAffected(reporter, channel, created))
        incident.priorities.append((created, incident.priority))
        # do_create_incident rescores with the reporter alone (a VIP raises the impact).
        self.rescore(incident, created)
        return incident

    # Changes, as the actions make them.

    def rescore(self, incident: PlannedIncident, at: datetime) -> bool:
        signals = _signals(self.person[a.email] for a in incident.affected)
        new_impact = rescored_impact(incident.impact, signals)
        if new_impact == incident.impact:
            return False
        old_impact, old_priority = incident.impact, incident.priority
        incident.impact = new_impact
        incident.impact_source = ImpactSource.POLICY
        incident.priority = self.priority[(new_impact, incident.urgency)]
        incident.priorities.append((at, incident.priority))
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.PRIORITY_CHANGE,
                at,
                None,
                data={
                    "reason": "impact_policy",
                    "impact": [old_impact, new_impact],
                    "priority": [old_priority, incident.priority],
                },
            )
        )
        return True

    def me_too(self, incident: PlannedIncident, email: str, channel: str, at: datetime) -> None:
        incident.affected.append(PlannedAffected(email, channel, at))
        incident.followers.append(PlannedAffected(email, channel, at))
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.AFFECTED_USER,
                at,
                email,
                data={"added": PersonRef(email), "channel": channel},
            )
        )
        if self.rescore(incident, at):
            incident.version += 1
            incident.updated_at = at

    def transition(
        self,
        incident: PlannedIncident,
        to_state: str,
        at: datetime,
        actor: str | None,
        *,
        body: str = "",
        hold_reason: str = "",
    ) -> None:
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.STATE_CHANGE,
                at,
                actor,
                body=body,
                data={"old": incident.state, "new": to_state, "hold_reason": hold_reason},
            )
        )
        incident.state = to_state
        incident.hold_reason = hold_reason
        incident.version += 1
        incident.updated_at = at
        if actor is not None and actor != incident.reporter and incident.first_response_at is None:
            incident.first_response_at = at

    def assign(
        self, incident: PlannedIncident, team: str, person: str, actor: str, at: datetime
    ) -> None:
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.FIELD_CHANGE,
                at,
                actor,
                data={
                    "field": "assignment",
                    "old": [None, None],
                    "new": [TeamRef(team), PersonRef(person)],
                },
            )
        )
        incident.assignment_group, incident.assignee, incident.assigned_at = team, person, at
        incident.state = State.ASSIGNED
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.STATE_CHANGE,
                at,
                actor,
                data={"old": State.NEW, "new": State.ASSIGNED},
            )
        )
        incident.version += 1
        incident.updated_at = at
        if incident.first_response_at is None:
            incident.first_response_at = at
        # Assignment to a person is the desk's response.
        if incident.response_stop is None:
            incident.response_stop = at

    def update(
        self, incident: PlannedIncident, body: str, at: datetime, author: str, *, public: bool
    ) -> None:
        kind = TimelineKind.PUBLIC_UPDATE if public else TimelineKind.WORK_NOTE
        incident.timeline.append(PlannedEntry(kind, at, author, body=body, public=public))
        incident.updated_at = at
        if public and author != incident.reporter:
            if incident.first_response_at is None:
                incident.first_response_at = at
            if incident.response_stop is None:
                incident.response_stop = at

    def resolve(
        self, incident: PlannedIncident, at: datetime, actor: str, code: str, notes: str
    ) -> None:
        self.transition(incident, State.RESOLVED, at, actor, body=notes)
        incident.resolution_code, incident.resolution_notes = code, notes
        incident.resolved_at = at
        self._stop_clocks(incident, at)
        close_at = at + self.auto_close + timedelta(minutes=self.when.randrange(60))
        if close_at <= self.now:
            # The hourly task closes resolved incidents as the system.
            self.transition(incident, State.CLOSED, close_at, None)
            incident.closed_at = close_at

    def _stop_clocks(self, incident: PlannedIncident, at: datetime) -> None:
        if incident.response_stop is None:
            incident.response_stop = at
        incident.resolution_stop = at
        if incident.holds and incident.holds[-1][1] is None:
            incident.holds[-1] = (incident.holds[-1][0], at)

    # Regular incidents.

    def regular(
        self, key: int, created: datetime, service: str, channel: str, *, reporter: str | None
    ) -> PlannedIncident:
        issue = self.what.choice(texts.ISSUES[service])
        # Drawn even when the reporter is given, so the stream stays the same for the rest.
        drawn = self.reporter_for(service, channel)
        reporter = reporter or drawn
        impact, urgency = issue.impact, issue.urgency
        if self.what.random() < 0.15:
            impact = min(3, max(1, impact + self.what.choice((-1, 1))))
        if self.what.random() < 0.15:
            urgency = min(3, max(1, urgency + self.what.choice((-1, 1))))
        incident = self.new_incident(
            key, service, issue.title, issue.description, issue.category, impact, urgency,
            reporter, channel, created,
        )  # fmt: skip
        extra = self.what.choices((0, 1, 2, 3, 5), (70, 18, 7, 3, 2))[0]
        colleagues = self.colleagues(reporter, service, extra)
        me_too_channels = [
            self.what.choices(ME_TOO_CHANNELS, ME_TOO_CHANNEL_WEIGHTS)[0] for _ in colleagues
        ]
        self._work(incident, issue, colleagues, me_too_channels)
        return incident

    def _work(
        self,
        incident: PlannedIncident,
        issue: texts.Issue,
        colleagues: Sequence[str],
        me_too_channels: Sequence[str],
    ) -> None:
        """Live the incident's life up to ``now``; each incident draws from its own stream."""
        rng = random.Random(f"{self.seed}:{incident.key}")
        team = self.services[incident.service].owner
        agent = rng.choice(self.members[team])
        dispatcher = rng.choice(self.members["Service Desk"]) if rng.random() < 0.5 else agent
        created = incident.created_at
        # Decide the priority the desk works to from everyone who will say "me too".
        signals = _signals(self.person[e] for e in [incident.reporter, *colleagues])
        final_impact = rescored_impact(incident.impact, signals)
        priority = self.priority[(final_impact, incident.urgency)]
        events: list[tuple[datetime, int, Any]] = []
        for order, (email, channel) in enumerate(zip(colleagues, me_too_channels, strict=True)):
            at = created + timedelta(minutes=_lognormal(rng, 45, 1.0))
            events.append((at, order, ("me_too", email, channel)))

        stuck = rng.random() < 0.001 and created < self.now - timedelta(days=20)
        cancel = not stuck and rng.random() < 0.025
        assigned = _desk_time(created, _lognormal(rng, RESPONSE_MEDIAN[priority]), priority)
        if cancel:
            cancel_at = created + timedelta(minutes=rng.uniform(3, 90))
            if cancel_at < assigned:
                events.append((cancel_at, 100, ("cancel", rng.choice(texts.CANCELLATIONS))))
                self._play(incident, events, issue, team, agent, dispatcher, rng)
                return
        events.append((assigned, 101, ("assign",)))
        started = assigned + timedelta(minutes=rng.uniform(0, 10 if priority == 1 else 45))
        events.append((started, 102, ("start",)))
        work = _lognormal(rng, RESOLUTION_MEDIAN[priority])
        if rng.random() < 0.55:
            at = started + timedelta(minutes=rng.uniform(5, 120))
            events.append((at, 103, ("update", issue.update or rng.choice(texts.GENERIC_UPDATES))))
        if rng.random() < 0.35:
            at = started + timedelta(minutes=rng.uniform(10, 240))
            events.append((at, 104, ("note", rng.choice(texts.WORK_NOTES))))
        resume_from, remaining = created, work
        if stuck or rng.random() < 0.14:
            share = rng.uniform(0.3, 0.7)
            hold_at = max(_desk_time(created, work * share, priority), started)
            hold_at += timedelta(minutes=rng.uniform(1, 20))
            reason = (
                HoldReason.AWAITING_SUPPLIER
                if stuck
                else rng.choices(
                    (HoldReason.AWAITING_USER, HoldReason.AWAITING_SUPPLIER,
                     HoldReason.AWAITING_CHANGE), (70, 25, 5),
                )[0]
            )  # fmt: skip
            events.append((hold_at, 105, ("hold", reason, rng.randrange(3))))
            if not stuck:
                length = _lognormal(rng, 400 if reason == HoldReason.AWAITING_USER else 2000)
                resume_at = add_business_minutes(DESK_HOURS, hold_at, length)
                events.append((resume_at, 106, ("resume", reason, rng.randrange(3))))
                resume_from, remaining = resume_at, work * (1 - share)
        if not stuck:
            resolved = _desk_time(resume_from, remaining, priority)
            resolved = max(resolved, max(at for at, _o, _e in events) + timedelta(minutes=2))
            code = rng.choices(
                (ResolutionCode.SOLVED, ResolutionCode.WORKAROUND,
                 ResolutionCode.NOT_REPRODUCIBLE), (80, 12, 8),
            )[0]  # fmt: skip
            notes = (
                "Could not reproduce the problem, and it has not happened again since. "
                "Reopen this incident if it comes back."
                if code == ResolutionCode.NOT_REPRODUCIBLE
                else _fill(issue.resolution, ci=incident.configuration_item or "the server")
            )
            events.append((resolved, 107, ("resolve", code, notes)))
        self._play(incident, events, issue, team, agent, dispatcher, rng)

    def _play(
        self,
        incident: PlannedIncident,
        events: list[tuple[datetime, int, Any]],
        issue: texts.Issue,
        team: str,
        agent: str,
        dispatcher: str,
        rng: random.Random,
    ) -> None:
        """Apply the events in time order, stopping at ``now``: later ones have not happened."""
        for at, _order, event in sorted(events, key=lambda e: (e[0], e[1])):
            if at > self.now:
                break
            what = event[0]
            if what == "me_too":
                if incident.state in {State.CLOSED, State.CANCELLED, State.RESOLVED}:
                    continue
                self.me_too(incident, event[1], event[2], at)
            elif what == "cancel":
                self.transition(incident, State.CANCELLED, at, incident.reporter, body=event[1])
                incident.resolution_code = ResolutionCode.CANCELLED_BY_USER
                incident.resolution_notes = event[1]
                incident.resolved_at = incident.closed_at = at
                self._stop_clocks(incident, at)
            elif what == "assign":
                self.assign(incident, team, agent, dispatcher, at)
            elif what == "start":
                self.transition(incident, State.IN_PROGRESS, at, agent)
            elif what == "update":
                self.update(incident, event[1], at, agent, public=True)
            elif what == "note":
                self.update(incident, event[1], at, agent, public=False)
            elif what == "hold":
                reason, variant = event[1], event[2]
                if reason == HoldReason.AWAITING_USER:
                    self.update(incident, texts.HOLD_QUESTIONS[variant], at, agent, public=True)
                else:
                    note = texts.SUPPLIER_HOLDS[variant % len(texts.SUPPLIER_HOLDS)]
                    self.update(incident, note, at, agent, public=False)
                self.transition(incident, State.ON_HOLD, at, agent, hold_reason=reason)
                incident.holds.append((at, None))
            elif what == "resume":
                reason, variant = event[1], event[2]
                if reason == HoldReason.AWAITING_USER:
                    reply_at = at - timedelta(minutes=rng.uniform(1, 30))
                    reply = texts.REQUESTER_REPLIES[variant]
                    self.update(incident, reply, max(reply_at, incident.holds[-1][0]),
                                incident.reporter, public=True)  # fmt: skip
                self.transition(incident, State.IN_PROGRESS, at, agent)
                incident.holds[-1] = (incident.holds[-1][0], at)
            elif what == "resolve":
                self.resolve(incident, at, agent, event[1], event[2])
        incident.timeline.sort(key=lambda entry: entry.at)

    # Outages: bursts on one service, some of them major incidents.

    def outage(
        self, first_key: int, service: str, start: datetime, duplicates: int, major: bool
    ) -> list[PlannedIncident]:
        story = texts.OUTAGES[service]
        plan = self.services[service]
        channel = self.what.choice((Channel.WEB, Channel.WALL, Channel.CHAT, Channel.ALERT))
        reporter = self.reporter_for(service, channel)
        created = start + timedelta(minutes=self.when.uniform(2, 10))
        primary = self.new_incident(
            first_key, service, story.title, story.description, "network"
            if plan.category == "Network & connectivity" else "software", 2, 1, reporter,
            channel, created, outage=True,
        )  # fmt: skip
        rng = random.Random(f"{self.seed}:{first_key}")
        team = plan.owner
        lead = self.leads.get(team) or self.members[team][0]
        agent = rng.choice(self.members[team])
        crowd = self.colleagues(reporter, service, rng.randint(5, 40))
        events: list[tuple[datetime, int, Any]] = []
        for order, email in enumerate(crowd):
            at = created + timedelta(minutes=rng.uniform(1, 60))
            events.append((at, order, ("me_too", email, self.what.choice(ME_TOO_CHANNELS))))
        assigned = created + timedelta(minutes=rng.uniform(2, 10))
        events.append((assigned, 200, ("assign",)))
        events.append((assigned + timedelta(minutes=rng.uniform(1, 5)), 201, ("start",)))
        if major:
            declared = created + timedelta(minutes=rng.uniform(10, 25))
            events.append((declared, 202, ("declare",)))
            updates = story.updates
            for number, body in enumerate(updates[:-1], start=1):
                minutes = MAJOR_CADENCE_MINUTES * number - rng.uniform(0, 8)
                at = declared + timedelta(minutes=minutes)
                events.append((at, 202 + number, ("official", body)))
            last = declared + timedelta(minutes=MAJOR_CADENCE_MINUTES * len(updates) - 10)
            events.append((last, 300, ("official", updates[-1])))
            resolved = last + timedelta(minutes=rng.uniform(2, 8))
        else:
            resolved = created + timedelta(minutes=rng.uniform(45, 240))
            events.append((assigned + timedelta(minutes=5), 202, ("update", story.updates[0])))
            events.append((resolved - timedelta(minutes=2), 203, ("update", story.updates[-1])))
        notes = _fill(story.resolution, ci=primary.configuration_item or self.items[service][0])
        events.append((resolved, 400, ("resolve", ResolutionCode.SOLVED, notes)))

        incidents = [primary]
        for offset in range(1, duplicates + 1):
            dup_channel = self.what.choice((Channel.EMAIL, Channel.WEB, Channel.CHAT))
            dup_reporter = self.reporter_for(service, dup_channel)
            dup_created = created + timedelta(minutes=rng.uniform(3, 30))
            duplicate = self.new_incident(
                first_key + offset, service, story.title, story.description, primary.category,
                3, 1, dup_reporter, dup_channel, dup_created, outage=True,
            )  # fmt: skip
            merged_at = dup_created + timedelta(minutes=rng.uniform(3, 20))
            events.append((merged_at, 500 + offset, ("merge", duplicate)))
            incidents.append(duplicate)

        for at, _order, event in sorted(events, key=lambda e: (e[0], e[1])):
            if at > self.now:
                break
            what = event[0]
            if what == "me_too":
                if primary.state in {State.RESOLVED, State.CLOSED}:
                    continue
                if event[1] not in {a.email for a in primary.affected}:
                    self.me_too(primary, event[1], event[2], at)
            elif what == "assign":
                dispatcher = rng.choice(self.members["Service Desk"])
                self.assign(primary, team, agent, dispatcher, at)
            elif what == "start":
                self.transition(primary, State.IN_PROGRESS, at, agent)
            elif what == "declare":
                self.declare(primary, at, lead, story.reason)
            elif what == "official":
                primary.timeline.append(
                    PlannedEntry(TimelineKind.OFFICIAL_UPDATE, at, lead, body=event[1])
                )
                primary.updated_at = at
            elif what == "update":
                self.update(primary, event[1], at, agent, public=True)
            elif what == "merge":
                self.merge(event[1], primary, at, agent)
            elif what == "resolve":
                self.resolve(primary, at, agent, event[1], event[2])
        primary.timeline.sort(key=lambda entry: entry.at)
        return incidents

    def declare(self, incident: PlannedIncident, at: datetime, commander: str, reason: str) -> None:
        old_priority = incident.priority
        incident.is_major = True
        incident.major_declared_at = at
        incident.major_reason = reason
        incident.commander = commander
        incident.update_cadence_minutes = MAJOR_CADENCE_MINUTES
        incident.impact = incident.urgency = 1
        incident.impact_source = ImpactSource.MANUAL
        incident.priority = self.priority[(1, 1)]
        incident.timeline.append(
            PlannedEntry(
                TimelineKind.MAJOR,
                at,
                commander,
                body=reason,
                data={
                    "commander": PersonRef(commander),
                    "cadence_minutes": MAJOR_CADENCE_MINUTES,
                },
            )
        )
        if incident.priority != old_priority:
            incident.priorities.append((at, incident.priority))
            incident.timeline.append(
                PlannedEntry(
                    TimelineKind.PRIORITY_CHANGE,
                    at,
                    commander,
                    data={"priority": [old_priority, incident.priority]},
                )
            )
        if commander not in {f.email for f in incident.followers}:
            incident.followers.append(PlannedAffected(commander, Channel.WEB, at))
        incident.version += 1
        incident.updated_at = at

    def merge(
        self, duplicate: PlannedIncident, survivor: PlannedIncident, at: datetime, actor: str
    ) -> None:
        """The duplicate's people move to the survivor; the duplicate closes, pointing at it."""
        present = {a.email for a in survivor.affected}
        moved = [a for a in duplicate.affected if a.email not in present]
        for person in moved:
            survivor.affected.append(PlannedAffected(person.email, person.channel, at))
        following = {f.email for f in survivor.followers}
        for person in duplicate.followers:
            if person.email not in following:
                survivor.followers.append(PlannedAffected(person.email, person.channel, at))
        duplicate.affected, duplicate.followers = [], []
        survivor.timeline.extend(duplicate.timeline)
        duplicate.timeline = []
        survivor.timeline.append(
            PlannedEntry(
                TimelineKind.MERGE,
                at,
                actor,
                body="{duplicate} merged into this incident; "
                + f"{len(moved)} affected {'person' if len(moved) == 1 else 'people'} joined.",
                data={"duplicate": duplicate.key, "affected_moved": len(moved)},
            )
        )
        if self.rescore(survivor, at):
            survivor.version += 1
        self.transition(duplicate, State.CLOSED, at, actor)
        duplicate.merged_into = survivor.key
        duplicate.resolution_code = ResolutionCode.DUPLICATE
        duplicate.resolution_notes = "Merged into {survivor}."
        duplicate.resolved_at = duplicate.closed_at = at
        self._stop_clocks(duplicate, at)


def _accumulate(weights: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


# --- The plan -------------------------------------------------------------------------------


def plan_history(
    seed: int, count: int = DEMO_INCIDENTS, *, now: datetime, auto_close_days: int = 7
) -> list[PlannedIncident]:
    """``count`` incidents of the year before ``now``, oldest first, keys 0..count-1."""
    if count <= 0:
        return []
    planner = _Planner(seed, now, auto_close_days)
    what = planner.what

    # Outages: about one every nine days at 30,000 incidents, a few at any size worth having;
    # never more than a tenth of the incidents.
    outages = 0 if count < 40 else max(3, count // 750)
    majors = max(1, outages // 7) if outages else 0
    outage_plans: list[tuple[str, int, bool]] = []
    outage_total = 0
    for number in range(outages):
        major = number < majors
        service = what.choice(MAJOR_SERVICES if major else tuple(texts.OUTAGES))
        duplicates = what.choice((0, 0, 1, 1, 2, 3))
        if outage_total + 1 + duplicates > count // 10:
            break
        outage_total += 1 + duplicates
        outage_plans.append((service, duplicates, major))
    outage_starts = [planner.office_moment() for _ in outage_plans]
    if outage_plans and CURRENT_OUTAGE in texts.OUTAGES:
        # The newest outage is happening now: VPN has been failing for three quarters of an hour,
        # so the demo shows story 1 ("Is it just me?"): an open, public incident with a crowd,
        # and the wall's last-hour burst of reports about it (demo/wall.py).
        _service, old_duplicates, _major = outage_plans[-1]
        outage_total -= old_duplicates
        outage_plans[-1] = (CURRENT_OUTAGE, 0, False)
        outage_starts[-1] = planner.now - timedelta(minutes=45)

    # Regular incidents. Everything "what" is drawn in generation order, before anything that
    # depends on ``now``; they are numbered by creation time at the end.
    regular = count - outage_total
    services = list(SERVICE_WEIGHTS)
    chosen = what.choices(services, [SERVICE_WEIGHTS[s] for s in services], k=regular)
    channels = [planner.channel_for(service) for service in chosen]
    created = [
        planner.any_moment() if channel == Channel.ALERT else planner.office_moment()
        for channel in channels
    ]
    # A handful of incidents are the demo requester's own, the two latest among them, so that
    # "my incidents" has history and something open.
    theirs = [
        index
        for index, (service, channel) in enumerate(zip(chosen, channels, strict=True))
        if planner.services[service].visibility == Visibility.PUBLIC and channel != Channel.ALERT
    ]
    mine = set(what.sample(theirs, min(6, len(theirs) // 50)))
    if len(theirs) >= 50:
        mine |= set(sorted(theirs, key=lambda index: created[index])[-2:])

    incidents = [
        planner.regular(
            index,
            created[index],
            service,
            channels[index],
            reporter=planner.demo_requester if index in mine else None,
        )
        for index, service in enumerate(chosen)
    ]
    for number, (service, duplicates, major) in enumerate(outage_plans):
        # Keys only need to be distinct until the renumbering below.
        first_key = regular + number * 4
        incidents += planner.outage(first_key, service, outage_starts[number], duplicates, major)

    # Number everything by creation time: keys become positions in the plan.
    incidents.sort(key=lambda incident: (incident.created_at, incident.key))
    renumber = {incident.key: position for position, incident in enumerate(incidents)}
    for incident in incidents:
        incident.key = renumber[incident.key]
        if incident.merged_into is not None:
            incident.merged_into = renumber[incident.merged_into]
        for entry in incident.timeline:
            if entry.kind == TimelineKind.MERGE:
                entry.data["duplicate"] = renumber[entry.data["duplicate"]]
    return incidents
