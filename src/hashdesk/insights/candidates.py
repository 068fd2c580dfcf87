"""Problem candidates: the clustering job's results, kept as ``ProblemCandidate`` rows, and what
agents do with them (docs/insights.md, "Problem candidates").

- :func:`collect_reports` reads the incidents, top-level wall posts and chat messages (service
  rooms and live help) of the last N weeks (``INSIGHTS_CLUSTER_WEEKS``, default 6), leaving out
  merged duplicates and incidents already linked to a problem.
- :func:`refresh_candidates` clusters them (``insights.clustering``), computes each cluster's
  evidence and impact, and upserts the candidates. A cluster is matched to an existing
  candidate first by the items they share, then by ``signature`` (service + leading terms), so
  a rerun updates the same candidate. Accepted candidates stay as they are (linked to their
  problem); a dismissed one is updated but proposed again only when it has grown to at least
  twice ``dismissed_size`` (``DISMISSED_GROWTH``); an open one the job no longer finds is
  removed.
- :func:`do_accept_candidate` creates the problem with the candidate's incidents linked;
  :func:`do_dismiss_candidate` puts it aside with a reason. Staff only; audited; each sends a
  ``problem_candidate`` event to the staff stream.

Evidence stores ids only: texts are read at display time through ``core.visibility``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import streams, visibility
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.events import BaseEvent, send_event
from hashdesk.core.logging import get_logger
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import staff_condition
from hashdesk.insights.choices import CandidateState, ItemKind
from hashdesk.insights.clustering import Cluster, Report, Settings, find_clusters
from hashdesk.insights.models import CandidateItem, ProblemCandidate
from hashdesk.insights.sentiment import score_text

log = get_logger(__name__)

DEFAULT_WEEKS = 6
DISMISSED_GROWTH = 2.0
REASON_MAX = 1_000
TITLE_TERMS = 4
REPORT_TEXT_MAX = 2_000


def cluster_weeks() -> int:
    return int(getattr(settings, "INSIGHTS_CLUSTER_WEEKS", DEFAULT_WEEKS))


# --- Visibility: candidates are staff work --------------------------------------------------


def can_decide(user: visibility.Viewer) -> bool:
    """Who accepts or dismisses candidates: those who manage problems."""
    manage = getattr(visibility, "can_manage_problems", None)
    return bool(manage(user)) if manage is not None else visibility.is_staff(user)


# --- Events ------------------------------------------------------------------------------------


class CandidateEvent(BaseEvent):
    """``op``: refresh (the job ran), accept or dismiss; ``candidate`` is a snapshot (ids and
    counts only, no report text)."""

    type: ClassVar[str] = "problem_candidate"
    candidate: dict[str, Any]


def snapshot(candidate: ProblemCandidate) -> dict[str, Any]:
    return {
        "id": candidate.pk,
        "title": candidate.title,
        "state": candidate.state,
        "service_id": candidate.service_id,
        "size": candidate.size,
        "impact": candidate.impact,
        "problem_id": candidate.problem_id,
        "dismissed_size": candidate.dismissed_size,
    }


def _publish(candidate: ProblemCandidate, op: str) -> None:
    send_event(CandidateEvent(op=op, candidate=snapshot(candidate)), streams=[streams.STAFF])


# --- Collecting the reports --------------------------------------------------------------------


def collect_reports(since: datetime) -> list[Report]:
    """Incidents, top-level posts and people's chat messages created since ``since``."""
    from hashdesk.catalog.choices import Visibility
    from hashdesk.chat.choices import MessageKind, RoomKind
    from hashdesk.chat.models import Message
    from hashdesk.incidents.models import Incident
    from hashdesk.problems.models import ProblemIncident
    from hashdesk.wall.choices import ModerationState, PostKind, PostVisibility
    from hashdesk.wall.models import Post

    reports: list[Report] = []
    incidents = (
        Incident.objects.filter(created_at__gte=since, merged_into__isnull=True)
        .exclude(pk__in=ProblemIncident.objects.values("incident_id"))
        .values_list(
            "pk",
            "service_id",
            "configuration_item_id",
            "reporter_id",
            "created_at",
            "title",
            "description",
            "visibility",
        )
    )
    for pk, service_id, ci_id, reporter_id, created_at, title, description, level in incidents:
        reports.append(
            Report(
                ItemKind.INCIDENT,
                pk,
                service_id,
                ci_id,
                reporter_id,
                created_at,
                f"{title}\n{title}\n{(description or '')[:REPORT_TEXT_MAX]}",
                level == Visibility.CONFIDENTIAL,
            )
        )
    posts = Post.objects.filter(
        created_at__gte=since,
        kind=PostKind.POST,
        reply_to__isnull=True,
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
        incident__isnull=True,
    ).values_list("pk", "service_id", "author_id", "created_at", "body", "visibility")
    for pk, service_id, author_id, created_at, body, level in posts:
        reports.append(
            Report(
                ItemKind.POST,
                pk,
                service_id,
                None,
                author_id,
                created_at,
                body[:REPORT_TEXT_MAX],
                level != PostVisibility.PUBLIC,
            )
        )
    staff_ids = User.objects.filter(staff_condition()).values("pk")
    messages = (
        Message.objects.filter(
            created_at__gte=since,
            room__kind__in=[RoomKind.SERVICE, RoomKind.HELP],
            kind=MessageKind.MESSAGE,
            deleted_at__isnull=True,
            thread_root__isnull=True,
        )
        .exclude(author_id__in=staff_ids)
        .values_list("pk", "room__service_id", "author_id", "created_at", "body")
    )
    for pk, service_id, author_id, created_at, body in messages:
        reports.append(
            Report(
                ItemKind.CHAT, pk, service_id, None, author_id, created_at, body[:REPORT_TEXT_MAX]
            )
        )
    return reports


# --- Evidence and impact -----------------------------------------------------------------------


def _weekly_trend(members: Sequence[Report], now: datetime, weeks: int) -> list[int]:
    """Reports per week, oldest week first; the last entry is the week up to ``now``."""
    counts = [0] * weeks
    for report in members:
        age = (now - report.created_at).total_seconds() / (7 * 86_400)
        index = weeks - 1 - int(max(age, 0))
        if 0 <= index < weeks:
            counts[index] += 1
    return counts


def impact_of(evidence: dict[str, Any], size: int) -> float:
    """Rank: size, people and sites, weighted by recency, growth and frustration.

    ``(ln(1+size) + ln(1+people) + 0.5·sites) x (0.5 + recency) x growth x (1 + frustration)
    x (0.6 + 0.8·tickets)`` where recency is ``exp(-days since the last report / 14)``, growth
    the last two weeks' rate over the earlier weeks' (0.5 to 2), frustration the share of
    frustrated reports plus the negative part of the mean sentiment, and tickets the share of
    the reports that are incidents: each one is a cost the desk has already paid, while talk
    that never became a ticket weighs less."""
    people = int(evidence.get("people", 0))
    sites = len(evidence.get("sites", []))
    recency = math.exp(-float(evidence.get("days_since_last", 0.0)) / 14.0)
    trend = list(evidence.get("trend", []))
    recent = sum(trend[-2:]) / 2 if trend else 0.0
    earlier = sum(trend[:-2]) / max(len(trend) - 2, 1) if len(trend) > 2 else recent
    growth = min(2.0, max(0.5, (recent + 1.0) / (earlier + 1.0)))
    frustration = float(evidence.get("frustrated_share", 0.0)) + max(
        0.0, -float(evidence.get("sentiment", 0.0))
    )
    tickets = min(1.0, int(evidence.get("incidents", 0)) / size) if size else 0.0
    base = math.log1p(size) + math.log1p(people) + 0.5 * sites
    return round(base * (0.5 + recency) * growth * (1.0 + frustration) * (0.6 + 0.8 * tickets), 4)


def evidence_of(
    cluster: Cluster, sites_by_person: dict[int, str], now: datetime, weeks: int
) -> dict[str, Any]:
    members = cluster.members
    kinds = Counter(r.kind for r in members)
    people = cluster.people
    sites = sorted({sites_by_person[p] for p in people if sites_by_person.get(p)})
    moods = [score_text(r.text) for r in members]
    last = max(r.created_at for r in members)
    return {
        "incidents": kinds.get(ItemKind.INCIDENT, 0),
        "posts": kinds.get(ItemKind.POST, 0),
        "chats": kinds.get(ItemKind.CHAT, 0),
        "people": len(people),
        "sites": sites,
        "trend": _weekly_trend(members, now, weeks),
        "weeks": weeks,
        "representatives": [{"kind": r.kind, "id": r.id} for r in cluster.representatives],
        "sentiment": round(sum(m.score for m in moods) / len(moods), 4),
        "frustrated_share": round(sum(m.frustrated for m in moods) / len(moods), 4),
        "days_since_last": round((now - last).total_seconds() / 86_400, 2),
        "cohesion": cluster.cohesion,
    }


def signature_of(service_id: int | None, top_terms: Sequence[str]) -> str:
    lead = ",".join(sorted(top_terms[:3]))
    return hashlib.sha256(f"{service_id or 0}|{lead}".encode()).hexdigest()[:40]


def _title(cluster: Cluster, service_names: dict[int, str]) -> str:
    service = service_names.get(cluster.service_id or 0, "No service")
    words = cluster.labels or cluster.top_terms
    if not words:
        return f"Recurring reports on {service}"[:200]
    return f"{service}: {', '.join(words[:TITLE_TERMS])}"[:200]


# --- The job -----------------------------------------------------------------------------------


def refresh_candidates(
    *, now: datetime | None = None, weeks: int | None = None, config: Settings | None = None
) -> dict[str, Any]:
    """Cluster the recent reports and upsert the candidates; returns what it did."""
    from hashdesk.catalog.models import Service

    started = time.perf_counter()
    moment = now or timezone.now()
    span = weeks or cluster_weeks()
    reports = collect_reports(moment - timedelta(weeks=span))
    collected = time.perf_counter()
    clusters = find_clusters(reports, config)
    clustered = time.perf_counter()
    person_ids = {p for c in clusters for p in c.people}
    sites_by_person = dict(
        User.objects.filter(pk__in=person_ids).exclude(site="").values_list("pk", "site")
    )
    service_names = dict(
        Service.objects.filter(pk__in={c.service_id for c in clusters if c.service_id}).values_list(
            "pk", "name"
        )
    )
    stats: dict[str, Any] = {
        "reports": len(reports),
        "clusters": len(clusters),
        "created": 0,
        "updated": 0,
    }
    with transaction.atomic():
        existing = {c.pk: c for c in ProblemCandidate.objects.select_for_update()}
        by_signature = {c.signature: c for c in existing.values()}
        item_owner = {
            (kind, object_id): candidate_id
            for kind, object_id, candidate_id in CandidateItem.objects.values_list(
                "kind", "object_id", "candidate_id"
            )
        }
        seen: set[int] = set()
        for cluster in clusters:
            evidence = evidence_of(cluster, sites_by_person, moment, span)
            signature = signature_of(cluster.service_id, cluster.top_terms)
            shared = Counter(
                item_owner[(r.kind, r.id)] for r in cluster.members if (r.kind, r.id) in item_owner
            )
            candidate = None
            for candidate_id, _count in shared.most_common():
                if candidate_id not in seen:
                    candidate = existing[candidate_id]
                    break
            if candidate is None:
                found = by_signature.get(signature)
                candidate = found if found is not None and found.pk not in seen else None
            if candidate is not None and candidate.state == CandidateState.ACCEPTED:
                # Stays linked to its problem; its new reports are the problem's business.
                seen.add(candidate.pk)
                continue
            size = len(cluster.members)
            fields = {
                "title": _title(cluster, service_names),
                "service_id": cluster.service_id,
                "configuration_item_id": _common_ci(cluster),
                "top_terms": cluster.labels or cluster.top_terms,
                "evidence": evidence,
                "size": size,
                "impact": impact_of(evidence, size),
                "first_seen": cluster.members[0].created_at,
                "last_seen": max(r.created_at for r in cluster.members),
                "updated_at": moment,
            }
            if candidate is None:
                if signature in by_signature:
                    continue  # taken by a candidate this run already updated
                candidate = ProblemCandidate.objects.create(
                    signature=signature, created_at=moment, **fields
                )
                by_signature[signature] = candidate
                existing[candidate.pk] = candidate
                stats["created"] += 1
            else:
                reason = (candidate.evidence or {}).get("dismissed_reason")
                if reason:
                    evidence["dismissed_reason"] = reason
                for name, value in fields.items():
                    setattr(candidate, name, value)
                if (
                    candidate.state == CandidateState.DISMISSED
                    and candidate.dismissed_size is not None
                    and size >= DISMISSED_GROWTH * candidate.dismissed_size
                ):
                    candidate.state = CandidateState.OPEN
                candidate.save()
                stats["updated"] += 1
            seen.add(candidate.pk)
            _replace_items(candidate, cluster, moment)
        stale = [
            pk for pk, c in existing.items() if pk not in seen and c.state == CandidateState.OPEN
        ]
        ProblemCandidate.objects.filter(pk__in=stale).delete()
        stats["removed"] = len(stale)
        stats["open"] = ProblemCandidate.objects.filter(state=CandidateState.OPEN).count()
        send_event(
            CandidateEvent(op="refresh", candidate={"open": stats["open"], **stats}),
            streams=[streams.STAFF],
        )
    stats["seconds"] = {
        "collect": round(collected - started, 3),
        "cluster": round(clustered - collected, 3),
        "store": round(time.perf_counter() - clustered, 3),
    }
    log.info("problem candidates refreshed", **{k: v for k, v in stats.items() if k != "seconds"})
    return stats


def _common_ci(cluster: Cluster) -> int | None:
    """The configuration item most of the cluster's reports name, if any does for half."""
    counts = Counter(
        r.configuration_item_id for r in cluster.members if r.configuration_item_id is not None
    )
    if not counts:
        return None
    ci_id, count = counts.most_common(1)[0]
    return ci_id if count * 2 >= len(cluster.members) else None


def _replace_items(candidate: ProblemCandidate, cluster: Cluster, moment: datetime) -> None:
    wanted = {(r.kind, r.id): r for r in cluster.members}
    current = set(
        CandidateItem.objects.filter(candidate=candidate).values_list("kind", "object_id")
    )
    gone = current - wanted.keys()
    if gone:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for kind, object_id in gone:
            by_kind[kind].append(object_id)
        for kind, ids in by_kind.items():
            CandidateItem.objects.filter(candidate=candidate, kind=kind, object_id__in=ids).delete()
    CandidateItem.objects.bulk_create(
        [
            CandidateItem(
                candidate=candidate, kind=kind, object_id=object_id, created_at=r.created_at
            )
            for (kind, object_id), r in wanted.items()
            if (kind, object_id) not in current
        ],
        batch_size=1000,
    )


# --- Decisions ---------------------------------------------------------------------------------


def _lock_open(candidate: ProblemCandidate) -> ProblemCandidate:
    current = ProblemCandidate.objects.select_for_update(of=("self",)).get(pk=candidate.pk)
    if current.state != CandidateState.OPEN:
        raise Conflict(
            f"This candidate was already {current.get_state_display().lower()}.", field="state"
        )
    return current


def do_accept_candidate(actor: User, candidate: ProblemCandidate) -> Any:
    """Create a problem from the candidate, its incidents linked; returns the problem."""
    from hashdesk.incidents.models import Incident
    from hashdesk.problems.actions import do_create_problem

    if not can_decide(actor):
        raise Forbidden("Only problem managers and agents can accept problem candidates.")
    with transaction.atomic():
        current = _lock_open(candidate)
        ids = list(
            CandidateItem.objects.filter(candidate=current, kind=ItemKind.INCIDENT).values_list(
                "object_id", flat=True
            )
        )
        incident_ids = list(
            visibility.visible_to(
                actor, Incident.objects.filter(pk__in=ids, merged_into__isnull=True)
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        evidence = current.evidence or {}
        description = (
            f"Proposed by the recurring-pattern detector: {current.size} reports "
            f"({evidence.get('incidents', 0)} incidents, {evidence.get('posts', 0)} posts, "
            f"{evidence.get('chats', 0)} chat messages) from {evidence.get('people', 0)} people"
            + (f" at {', '.join(evidence['sites'])}" if evidence.get("sites") else "")
            + (f". Top terms: {', '.join(current.top_terms)}." if current.top_terms else ".")
        )
        problem = do_create_problem(
            actor,
            title=current.title,
            description=description,
            service_ids=[current.service_id] if current.service_id else [],
            incident_ids=incident_ids,
            configuration_item_ids=(
                [current.configuration_item_id] if current.configuration_item_id else []
            ),
        )
        before = {"state": current.state}
        current.state = CandidateState.ACCEPTED
        current.problem = problem
        current.decided_by = actor
        current.decided_at = timezone.now()
        current.save(update_fields=["state", "problem", "decided_by", "decided_at"])
        trail.record(
            actor=actor,
            action="problem_candidate.accept",
            obj=current,
            before=before,
            after={"state": current.state, "problem_id": problem.pk, "incidents": incident_ids},
        )
        _publish(current, "accept")
    return problem


def do_dismiss_candidate(actor: User, candidate: ProblemCandidate, reason: str) -> ProblemCandidate:
    """Put the candidate aside: it comes back only if it grows to twice its present size."""
    if not can_decide(actor):
        raise Forbidden("Only problem managers and agents can dismiss problem candidates.")
    text = redact((reason or "").strip()).text
    if not text:
        raise ValidationFailed("Say why the candidate is dismissed.", field="reason")
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            f"The reason is longer than {REASON_MAX} characters.", field="reason"
        )
    with transaction.atomic():
        current = _lock_open(candidate)
        before = {"state": current.state}
        current.state = CandidateState.DISMISSED
        current.dismissed_size = current.size
        current.decided_by = actor
        current.decided_at = timezone.now()
        evidence = dict(current.evidence or {})
        evidence["dismissed_reason"] = text
        current.evidence = evidence
        current.save(
            update_fields=["state", "dismissed_size", "decided_by", "decided_at", "evidence"]
        )
        trail.record(
            actor=actor,
            action="problem_candidate.dismiss",
            obj=current,
            before=before,
            after={"state": current.state, "dismissed_size": current.size, "reason": text},
        )
        _publish(current, "dismiss")
    return current
