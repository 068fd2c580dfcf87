"""Which incidents a change may have caused (docs/changes.md, "Correlation with incidents").

For ``settings.CHANGE_CORRELATION_WINDOW`` (48 hours) after a change started, every incident
raised on one of its affected services (chosen or derived) is scored in [0, 1] for the review:

    score = 0.45 * time + 0.35 * distance + 0.20 * text

- ``time``: ``0.5 ** (hours after the start / 6)`` — an incident an hour after the change is far
  likelier its doing than one two days later;
- ``distance``: how far the incident's service is from what the change touched in the dependency
  graph (``AffectedService.distance`` 0 → 1.0, 1 → 0.6, 2 or more → 0.3);
- ``text``: the word similarity (``wall.similar``) of the incident's title and description with
  the change's summary, description and configuration items' names.

Scores are kept in ``ChangeIncident`` with their parts (``evidence``); rescoring updates them,
except links someone confirmed or dismissed — a person's judgement outranks the formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q
from django.db.models.functions import Coalesce

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.changes.actions import publish
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import AffectedService, Change, ChangeIncident
from hashdesk.core.errors import Forbidden, NotFound
from hashdesk.core.visibility import can_view, is_staff
from hashdesk.incidents.models import Incident
from hashdesk.wall.similar import similarity, words

WEIGHTS = {"time": 0.45, "distance": 0.35, "text": 0.20}
HALF_LIFE = timedelta(hours=6)
DISTANCE_FACTORS = (1.0, 0.6, 0.3)
# Changes that have begun: only their incidents can be theirs.
STARTED_STATES = frozenset(
    {
        ChangeState.IMPLEMENTING,
        ChangeState.REVIEW,
        ChangeState.CLOSED,
        ChangeState.FAILED,
        ChangeState.BACKED_OUT,
    }
)


def start_of(change: Change) -> datetime | None:
    """When the change began: its actual start, else (not recorded) its planned one."""
    return change.actual_start or change.planned_start


def distance_factor(distance: int) -> float:
    return DISTANCE_FACTORS[min(distance, len(DISTANCE_FACTORS) - 1)]


def time_factor(after: timedelta) -> float:
    return 0.5 ** (max(after, timedelta(0)) / HALF_LIFE)


def combine(time: float, distance: float, text: float) -> float:
    total = WEIGHTS["time"] * time + WEIGHTS["distance"] * distance + WEIGHTS["text"] * text
    return round(min(max(total, 0.0), 1.0), 3)


def _is_frozen(link: ChangeIncident) -> bool:
    return link.confirmed or bool(link.evidence.get("dismissed"))


def score_incidents(change: Change, *, window: timedelta | None = None) -> list[ChangeIncident]:
    """Score (upsert) the incidents of ``change``'s window; the links scored now, best first.

    Six queries however many incidents there are: the lock, the affected services, the
    configuration items, the incidents, the existing links, and one upsert."""
    window = window if window is not None else settings.CHANGE_CORRELATION_WINDOW
    start = start_of(change)
    if start is None or change.pk is None:
        return []
    with transaction.atomic():
        # Serialises with do_confirm_link/do_dismiss_link, so a judgement is never overwritten.
        Change.objects.select_for_update(of=("self",)).filter(pk=change.pk).first()
        distances = dict(
            AffectedService.objects.filter(change=change).values_list("service_id", "distance")
        )
        if not distances:
            return []
        item_names = list(change.configuration_items.values_list("name", flat=True))
        change_words = words(" ".join([change.summary, change.description, *item_names]))
        incidents = list(
            Incident.objects.filter(
                service_id__in=distances,
                merged_into__isnull=True,
                created_at__gte=start,
                created_at__lt=start + window,
            ).only("id", "service_id", "title", "description", "created_at")
        )
        existing = {
            link.incident_id: link
            for link in ChangeIncident.objects.filter(
                change=change, incident__in=[incident.pk for incident in incidents]
            )
        }
        links = []
        for incident in incidents:
            known = existing.get(incident.pk)
            if known is not None and _is_frozen(known):
                continue
            assert incident.service_id is not None  # filtered on service_id above
            distance = distances[incident.service_id]
            parts = {
                "time": round(time_factor(incident.created_at - start), 3),
                "distance": distance_factor(distance),
                "text": round(
                    similarity(words(f"{incident.title} {incident.description}"), change_words), 3
                ),
            }
            evidence: dict[str, object] = {
                **parts,
                "hours_after": round((incident.created_at - start) / timedelta(hours=1), 1),
                "graph_distance": distance,
            }
            links.append(
                ChangeIncident(
                    change=change,
                    incident=incident,
                    score=combine(parts["time"], parts["distance"], parts["text"]),
                    evidence=evidence,
                )
            )
        if links:
            ChangeIncident.objects.bulk_create(
                links,
                update_conflicts=True,
                unique_fields=["change", "incident"],
                update_fields=["score", "evidence"],
            )
    return sorted(links, key=lambda link: (-link.score, link.incident_id))


def refresh_correlations(now: datetime, *, window: timedelta | None = None) -> int:
    """Rescore every change whose window is open, or closed within the last hour (so incidents
    of its last hour count too); the number of changes scored. Run hourly by the worker."""
    window = window if window is not None else settings.CHANGE_CORRELATION_WINDOW
    changes = (
        Change.objects.filter(state__in=STARTED_STATES)
        .annotate(
            began=Coalesce(F("actual_start"), F("planned_start"), output_field=DateTimeField())
        )
        .filter(Q(began__lte=now) & Q(began__gte=now - window - timedelta(hours=1)))
        .order_by("pk")
    )
    scored = 0
    for change in changes:
        score_incidents(change, window=window)
        scored += 1
    return scored


def links_of(change: Change) -> Sequence[ChangeIncident]:
    """The change's scored and confirmed incidents, best first (one query)."""
    return list(
        ChangeIncident.objects.filter(change=change)
        .select_related("incident", "incident__service", "confirmed_by")
        .order_by("-confirmed", "-score", "id")
    )


def _judge(actor: User | None, change: Change, incident: Incident) -> None:
    if actor is None or not is_staff(actor):
        raise Forbidden("Only service desk staff can judge what a change caused.")
    if not can_view(actor, change) or not can_view(actor, incident):
        raise NotFound("No such change or incident.")


@transaction.atomic
def do_confirm_link(actor: User | None, change: Change, incident: Incident) -> ChangeIncident:
    """Say ``change`` caused ``incident`` (staff): the link is kept as confirmed and no longer
    rescored. An incident the scorer did not find can be linked too."""
    _judge(actor, change, incident)
    Change.objects.select_for_update(of=("self",)).filter(pk=change.pk).first()
    link, _ = ChangeIncident.objects.get_or_create(
        change=change, incident=incident, defaults={"evidence": {"manual": True}}
    )
    before = {"confirmed": link.confirmed, "score": link.score}
    link.confirmed = True
    link.confirmed_by = actor
    link.evidence = {key: value for key, value in link.evidence.items() if key != "dismissed"}
    link.save(update_fields=["confirmed", "confirmed_by", "evidence"])
    trail.record(
        actor=actor,
        action="changes.correlation.confirm",
        obj=change,
        before=before,
        after={"incident": incident.number, "confirmed": True},
    )
    publish(change, "correlation")
    return link


@transaction.atomic
def do_dismiss_link(actor: User | None, change: Change, incident: Incident) -> ChangeIncident:
    """Say ``change`` did not cause ``incident`` (staff): kept, marked dismissed, never rescored."""
    _judge(actor, change, incident)
    Change.objects.select_for_update(of=("self",)).filter(pk=change.pk).first()
    link = ChangeIncident.objects.filter(change=change, incident=incident).first()
    if link is None:
        raise NotFound("That incident is not linked to this change.")
    before = {"confirmed": link.confirmed, "score": link.score}
    link.confirmed = False
    link.confirmed_by = None
    link.evidence = {**link.evidence, "dismissed": True}
    link.save(update_fields=["confirmed", "confirmed_by", "evidence"])
    trail.record(
        actor=actor,
        action="changes.correlation.dismiss",
        obj=change,
        before=before,
        after={"incident": incident.number, "dismissed": True},
    )
    publish(change, "correlation")
    return link
