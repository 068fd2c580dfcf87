"""Demo problems (docs/problems.md): one known error with a workaround, one resolved by a change.

- "VPN disconnects every few minutes on Wi-Fi": a few of the year's VPN incidents linked, the
  root cause and workaround recorded and the known error published (the article, the official
  post on the VPN wall, the notices) — so a requester typing "#vpn keeps dropping" on the wall
  sees the workaround at once, and is answered with it (story 4).
- A problem behind incidents of a service a past change fixed: the change linked as its fix and
  the problem resolved, so recurrence is being watched.

Made through the product's actions, as the demo's problem manager. Does nothing when the
database already has problems, or lacks the people, services or incidents it needs (an
organisation loaded without incident history gets none).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import AffectedService, Change
from hashdesk.incidents.models import Incident
from hashdesk.problems.actions import do_create_problem, do_transition, do_update_problem
from hashdesk.problems.known_errors import do_publish_known_error
from hashdesk.problems.models import Problem

LINKED = 4


def load_problems(progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the demo problems; returns how many were created. Call inside a transaction,
    after the incidents and the changes."""
    say = progress or (lambda _line: None)
    if Problem.objects.exists():
        return {}
    manager = (
        User.objects.filter(groups__name=str(Role.PROBLEM_MANAGER), is_active=True)
        .order_by("pk")
        .first()
    )
    if manager is None or not Incident.objects.exists():
        # A problem explains incidents: an organisation without any has none to show.
        return {}
    say("problems and known errors")
    created = 0
    vpn = Service.objects.filter(hashtag="vpn").first()
    if vpn is not None:
        incidents = list(
            Incident.objects.filter(service=vpn)
            .filter(Q(title__icontains="drop") | Q(title__icontains="disconnect"))
            .order_by("-created_at")
            .values_list("pk", flat=True)[:LINKED]
        ) or list(
            Incident.objects.filter(service=vpn)
            .order_by("-created_at")
            .values_list("pk", flat=True)[:LINKED]
        )
        problem = do_create_problem(
            manager,
            title="VPN disconnects every few minutes on Wi-Fi",
            description="The VPN client drops the connection every few minutes when on the "
            "office Wi-Fi; on the wired network it stays up.",
            service_ids=[vpn.pk],
            incident_ids=incidents,
        )
        problem = do_transition(manager, problem, "investigating")
        problem = do_update_problem(
            manager,
            problem,
            expected_version=problem.version,
            root_cause="The Wi-Fi controllers end idle sessions after 600 seconds, which cuts "
            "the VPN tunnel when nothing is sent for a while.",
            workaround="Connect to the wired network, or turn on 'Keep the connection alive' in "
            "the VPN client's settings (Settings → Connection) and reconnect.",
        )
        do_publish_known_error(manager, problem)
        created += 1
    fix = (
        Change.objects.filter(state=ChangeState.CLOSED)
        .exclude(affected__service__visibility="confidential")
        .order_by("-actual_end", "-pk")
        .first()
    )
    service_id = (
        AffectedService.objects.filter(change=fix)
        .order_by("distance")
        .values_list("service_id", flat=True)
        .first()
        if fix is not None
        else None
    )
    if fix is not None and service_id is not None:
        incidents = list(
            Incident.objects.filter(service_id=service_id, created_at__lt=fix.planned_start)
            .order_by("-created_at")
            .values_list("pk", flat=True)[:3]
        )
        service = Service.objects.get(pk=service_id)
        problem = do_create_problem(
            manager,
            title=f"{service.name}: intermittent failures fixed by {fix.number}",
            description=f"Repeated reports of {service.name} failing intermittently.",
            service_ids=[service_id],
            incident_ids=incidents,
        )
        problem = do_update_problem(
            manager,
            problem,
            expected_version=problem.version,
            root_cause=f"A fault in the component {fix.number} replaced: {fix.summary}.",
            fix_change=fix,
            resolution=f"Fixed by {fix.number} ({fix.summary}).",
        )
        do_transition(manager, problem, "investigating")
        problem.refresh_from_db()
        do_transition(manager, problem, "resolved")
        created += 1
    return {"problems": created} if created else {}
