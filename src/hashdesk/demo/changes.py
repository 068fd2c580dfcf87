"""The demo's changes: a year of them, the CAB, freezes and what is coming, written in bulk.

Like the chat (demo/chat.py), this is seed data written straight to the tables the way the
change actions would have left them, without events, audit rows or notices:

- about ``count`` changes over the past year, mostly on weekday evenings and Saturday nights,
  with summaries that fit their service; ~8 % failed or were backed out, a few were cancelled,
  the rest closed (the last days' still in review); affected services come from the dependency
  graph (changes.actions.derive_affected); normal and emergency changes carry the CAB's approval;
- a year-end freeze (last year's and the coming one) and a quarter-end freeze on the ERP, with
  no change planned inside them, and a monthly maintenance window for the network;
- upcoming changes: scheduled ones over the next weeks, among them "Firmware upgrade of the
  VPN concentrator" next week on Saturday at 22:00 (Europe/Berlin), and some still being
  assessed or authorised;
- half of the failed changes are placed shortly before one of the demo's existing incidents on
  their service (the incidents stay as they are: the change moves), so the review has something
  to find; then changes.correlation scores every change that began — nothing is hard-coded.

Loaded only into a database without changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone

from hashdesk.accounts.choices import STAFF_ROLES, Role
from hashdesk.accounts.models import TeamMembership, User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.changes.actions import derive_affected, format_number
from hashdesk.changes.choices import (
    ApprovalDecision,
    ChangeState,
    ChangeType,
    Risk,
    WindowKind,
)
from hashdesk.changes.correlation import STARTED_STATES, score_incidents
from hashdesk.changes.models import (
    AffectedService,
    Approval,
    ApproverGroup,
    Change,
    ChangeIncident,
    ChangeWindow,
)
from hashdesk.demo.incidents import DEMO_INCIDENTS, LOCAL_ZONE
from hashdesk.incidents.models import Incident

DEMO_CHANGES = 300
BATCH = 1_000
FAILED_SHARE = 0.08
CANCELLED_SHARE = 0.03
UPCOMING = 14
# Most upcoming changes are scheduled; some still wait for their assessment or the CAB.
UPCOMING_STATES = [ChangeState.SCHEDULED] * 3 + [ChangeState.AUTHORISE, ChangeState.ASSESS]
VPN_FIRMWARE = "Firmware upgrade of the VPN concentrator"
CAB = "Change Advisory Board"
EMERGENCY_CAB = "Emergency CAB"

# What is done to a service, by hashtag; others get the generic list.
SUMMARIES: dict[str, list[str]] = {
    "vpn": [
        "Renew the VPN gateway certificate",
        "Add a VPN concentrator to the cluster",
        "Update the VPN client profile",
        "Patch the VPN concentrators",
    ],
    "email": [
        "Patch the mail servers",
        "Tighten the spam filter rules",
        "Move mailboxes to the new storage",
        "Renew the mail gateway certificate",
    ],
    "sso": [
        "Upgrade the identity provider",
        "Rotate the SAML signing certificate",
        "Add conditional access rules",
    ],
    "erp": [
        "Apply the ERP support package",
        "Transport the month-end reports to production",
        "Upgrade the ERP database",
    ],
    "corenet": [
        "Replace a core switch line card",
        "Upgrade the core router software",
        "Re-cable rack C4",
    ],
    "firewall": ["Update the firewall rule base", "Upgrade the firewall cluster"],
    "wifi-a": ["Replace access points on floor 2", "Update the wireless controller"],
    "wifi-b": ["Replace access points on floor 3", "Update the wireless controller"],
    "printing": ["Update the print server drivers", "Replace the print queue server"],
    "storage": ["Upgrade the storage array firmware", "Extend the storage pool"],
    "database": ["Patch the database cluster", "Fail over the database cluster"],
    "dns": ["Migrate DNS zones to the new servers", "Enable DNSSEC on internal zones"],
    "website": ["Deploy the new website release", "Renew the website certificate"],
}
GENERIC = [
    "Monthly security patches for {name}",
    "Upgrade {name} to the current release",
    "Renew the certificate of {name}",
    "Replace a server of {name}",
    "Apply a configuration change to {name}",
]


def changes_for(incidents: int) -> int:
    """Changes to go with ``incidents`` of history: 300 for the full demo, in proportion, and
    never fewer than the upcoming ones plus a few past (none without incidents)."""
    if incidents <= 0:
        return 0
    return max(UPCOMING + 10, round(DEMO_CHANGES * incidents / DEMO_INCIDENTS))


def _batches(rows: list[Any]) -> list[list[Any]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def _create(model: type[Model], rows: list[Any]) -> int:
    for batch in _batches(rows):
        model.objects.bulk_create(batch)  # type: ignore[attr-defined]
    return len(rows)


def _local(day: datetime, hour: int) -> datetime:
    return datetime.combine(day.astimezone(LOCAL_ZONE).date(), time(hour), tzinfo=LOCAL_ZONE)


def _saturday_on_or_after(moment: datetime) -> datetime:
    """The first Saturday on or after ``moment``, counted in the demo's local zone (near
    midnight UTC and local time fall on different days)."""
    local = moment.astimezone(LOCAL_ZONE)
    return local + timedelta(days=(5 - local.weekday()) % 7)


Freeze = tuple[str, datetime, datetime, list[Service] | None]


def _freezes(now: datetime) -> list[Freeze]:
    """(name, start, end, services or None for all): last and next year-end, a quarter end."""
    year = now.astimezone(LOCAL_ZONE).year
    out: list[Freeze] = []
    for first in (year - 1, year):
        out.append(
            (
                f"Year-end freeze {first}/{first + 1}",
                datetime(first, 12, 19, 18, tzinfo=LOCAL_ZONE),
                datetime(first + 1, 1, 4, 6, tzinfo=LOCAL_ZONE),
                None,
            )
        )
    erp = list(Service.objects.filter(hashtag__in=["erp", "reporting", "payroll"]))
    out.append(
        (
            "Quarter-end close",
            datetime(year, 9, 25, tzinfo=LOCAL_ZONE),
            datetime(year, 10, 3, tzinfo=LOCAL_ZONE),
            erp,
        )
    )
    return out


def _in_freeze(start: datetime, end: datetime, service: Service, freezes: list[Freeze]) -> bool:
    for _name, f_start, f_end, services in freezes:
        if start < f_end and f_start < end and (services is None or service in services):
            return True
    return False


def _summary(rng: random.Random, service: Service) -> str:
    return rng.choice(SUMMARIES.get(service.hashtag, GENERIC)).format(name=service.name)


def load_changes(
    *,
    seed: int,
    count: int = DEMO_CHANGES,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write about ``count`` changes of the past year and the coming weeks, the CAB and freeze
    windows, and the correlations of the past ones with the demo's incidents; returns how many
    rows of each kind were created. Call inside a transaction, after the incidents. Does
    nothing when the database already has changes."""
    if count <= 0 or Change.objects.exists():
        return {}
    say = progress or (lambda _line: None)
    rng = random.Random(f"{seed}-changes")
    now = now or timezone.now()
    services = list(Service.objects.exclude(visibility=Visibility.CONFIDENTIAL).order_by("hashtag"))
    if not services:
        return {}
    staff = list(User.objects.filter(groups__name__in=[str(r) for r in STAFF_ROLES]).distinct())
    managers = list(User.objects.filter(groups__name=str(Role.CHANGE_MANAGER)).order_by("pk"))
    if not staff or not managers:
        return {}
    team_people: dict[int, list[int]] = {}
    for team_id, user_id in TeamMembership.objects.values_list("team_id", "user_id"):
        team_people.setdefault(team_id, []).append(user_id)
    staff_ids = {person.pk for person in staff}

    counts: dict[str, int] = {}
    cab, made = ApproverGroup.objects.get_or_create(
        name=CAB, defaults={"change_types": [ChangeType.NORMAL], "quorum": 1}
    )
    ecab, made_e = ApproverGroup.objects.get_or_create(
        name=EMERGENCY_CAB, defaults={"change_types": [ChangeType.EMERGENCY], "quorum": 1}
    )
    cab.members.add(*managers)
    ecab.members.add(*managers[:2])
    counts["approver groups"] = int(made) + int(made_e)

    freezes = _freezes(now)
    windows = []
    for name, start, end, scope in freezes:
        window = ChangeWindow.objects.create(
            kind=WindowKind.FREEZE, name=name, starts_at=start, ends_at=end, created_at=now
        )
        if scope:
            window.services.set(scope)
        windows.append(window)
    network = [s for s in services if s.hashtag in {"corenet", "internet", "dns", "dhcp"}]
    if network:
        first_saturday = _local(_saturday_on_or_after(now), 22)
        maintenance = ChangeWindow.objects.create(
            kind=WindowKind.MAINTENANCE,
            name="Network maintenance (first Saturday night)",
            starts_at=first_saturday,
            ends_at=first_saturday + timedelta(hours=6),
            created_at=now,
        )
        maintenance.services.set(network)
        windows.append(maintenance)
    counts["change windows"] = len(windows)

    # Incidents a failed change may be placed before (public and internal, not duplicates).
    year_ago = now - timedelta(days=365)
    incident_pool = list(
        Incident.objects.filter(
            created_at__gte=year_ago + timedelta(days=2),
            created_at__lt=now - timedelta(days=3),
            merged_into__isnull=True,
            service__in=services,
        )
        .order_by("pk")
        .values_list("service_id", "created_at")[:5_000]
    )
    by_id = {service.pk: service for service in services}

    plans: list[dict[str, Any]] = []
    past = max(count - UPCOMING, 0)
    for _ in range(past):
        roll = rng.random()
        state = (
            ChangeState.FAILED
            if roll < FAILED_SHARE * 0.6
            else ChangeState.BACKED_OUT
            if roll < FAILED_SHARE
            else ChangeState.CANCELLED
            if roll < FAILED_SHARE + CANCELLED_SHARE
            else ChangeState.CLOSED
        )
        service = rng.choice(services)
        if (
            state in (ChangeState.FAILED, ChangeState.BACKED_OUT)
            and incident_pool
            and rng.random() < 0.5
        ):
            service_id, raised = rng.choice(incident_pool)
            service = by_id[service_id]
            start = raised - timedelta(minutes=rng.choice([30, 45, 60, 90, 120, 180, 300]))
        else:
            day = now - timedelta(days=rng.randint(1, 364))
            hour = rng.choice([18, 19, 20, 21, 22, 22])
            if rng.random() < 0.4:
                day = _saturday_on_or_after(day)  # a Saturday night
            start = _local(day, hour)
            if start >= now - timedelta(hours=6):
                start -= timedelta(days=7)
        hours = rng.choice([1, 2, 2, 3, 4])
        kind = rng.choices(
            [ChangeType.STANDARD, ChangeType.NORMAL, ChangeType.EMERGENCY], [45, 48, 7]
        )[0]
        if kind != ChangeType.EMERGENCY and _in_freeze(
            start, start + timedelta(hours=hours), service, freezes
        ):
            kind = ChangeType.EMERGENCY  # only emergencies break a freeze
        if state == ChangeState.CLOSED and start > now - timedelta(days=3):
            state = ChangeState.REVIEW
        plans.append(
            {"service": service, "start": start, "hours": hours, "state": state, "type": kind}
        )
    next_saturday = _local(_saturday_on_or_after(now + timedelta(days=7)), 22)
    vpn = next((s for s in services if s.hashtag == "vpn"), services[0])
    plans.append(
        {
            "service": vpn,
            "start": next_saturday,
            "hours": 3,
            "state": ChangeState.SCHEDULED,
            "type": ChangeType.NORMAL,
            "summary": VPN_FIRMWARE,
        }
    )
    for index in range(UPCOMING - 1):
        service = rng.choice(services)
        start = _local(now + timedelta(days=rng.randint(2, 40)), rng.choice([19, 20, 21, 22]))
        while _in_freeze(start, start + timedelta(hours=2), service, freezes):
            start += timedelta(days=7)
        plans.append(
            {
                "service": service,
                "start": start,
                "hours": 2,
                "state": UPCOMING_STATES[index % len(UPCOMING_STATES)],
                "type": ChangeType.NORMAL if index % 3 else ChangeType.STANDARD,
            }
        )
    plans.sort(key=lambda plan: plan["start"])
    say(f"planned {len(plans)} changes")

    changes: list[Change] = []
    for plan in plans:
        service, start, state = plan["service"], plan["start"], plan["state"]
        end = start + timedelta(hours=plan["hours"])
        people = [pk for pk in team_people.get(service.owner_team_id or 0, []) if pk in staff_ids]
        owner_id = rng.choice(people) if people else rng.choice(staff).pk
        began = state in STARTED_STATES
        failed = state in (ChangeState.FAILED, ChangeState.BACKED_OUT)
        risk = (
            Risk.HIGH
            if failed or plan["type"] == ChangeType.EMERGENCY
            else rng.choice([Risk.LOW, Risk.LOW, Risk.MEDIUM])
        )
        created = start - timedelta(days=rng.randint(3, 21))
        changes.append(
            Change(
                type=plan["type"],
                state=state,
                summary=plan.get("summary") or _summary(rng, service),
                description=f"Planned work on {service.name}.",
                reason="Keeps the service supported and secure.",
                implementation_plan="Announce, fail over, apply, test, fail back.",
                backout_plan="Restore the previous version from the snapshot taken before.",
                test_plan="Smoke tests by the owning team; the service desk watches the wall.",
                planned_start=start,
                planned_end=end,
                time_zone=str(LOCAL_ZONE),
                actual_start=start + timedelta(minutes=rng.randint(0, 10)) if began else None,
                actual_end=(end + timedelta(minutes=rng.randint(-20, 60 if failed else 5)))
                if began and state != ChangeState.IMPLEMENTING
                else None,
                risk=risk,
                risk_score={Risk.LOW: 2, Risk.MEDIUM: 5, Risk.HIGH: 9}[risk],
                requester_id=owner_id,
                owner_id=owner_id,
                owner_team_id=service.owner_team_id,
                closure_notes=(
                    "Rolled back: the service misbehaved after the work."
                    if failed
                    else "Done as planned."
                    if state in (ChangeState.CLOSED, ChangeState.REVIEW)
                    else ""
                ),
                created_at=created,
                updated_at=end if began else created,
            )
        )
    counts["changes"] = _create(Change, changes)
    for change in changes:
        change.number = format_number(change.pk)
    Change.objects.bulk_update(changes, ["number"], batch_size=BATCH)

    affected: list[AffectedService] = []
    approvals: list[Approval] = []
    for change, plan in zip(changes, plans, strict=True):
        for service_id, (reason, distance) in derive_affected([plan["service"]], []).items():
            affected.append(
                AffectedService(
                    change=change, service_id=service_id, reason=reason, distance=distance
                )
            )
        if change.type == ChangeType.STANDARD or change.state == ChangeState.ASSESS:
            continue
        pending = change.state == ChangeState.AUTHORISE
        group = ecab if change.type == ChangeType.EMERGENCY else cab
        approvals.append(
            Approval(
                change=change,
                group=group,
                approver=rng.choice(managers[:2] if group is ecab else managers),
                decision=ApprovalDecision.PENDING if pending else ApprovalDecision.APPROVED,
                comment="" if pending else rng.choice(["", "Fine with the backout plan.", "OK."]),
                decided_at=None if pending else change.created_at + timedelta(days=1),
                created_at=change.created_at,
            )
        )
    counts["affected services"] = _create(AffectedService, affected)
    counts["approvals"] = _create(Approval, approvals)

    say("scoring incidents after the changes")
    for change in changes:
        if change.state in STARTED_STATES:
            score_incidents(change)
    counts["change-incident links"] = ChangeIncident.objects.count()
    return counts
