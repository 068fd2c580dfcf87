"""Reputation earned by answers that demonstrably prevented tickets (story 7; docs/wall.md,
"Answers and reputation").

Awards are earned pending by wall.answers and decided here once their window has passed:
confirmed when the beneficiary raised no ticket on the question's service meanwhile, void
otherwise. A person's reputation is the sum of their confirmed points.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.visibility import Viewer, is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.wall.actions import POST_URL
from hashdesk.wall.choices import AwardReason, AwardState
from hashdesk.wall.models import Post, ReputationAward, WorkaroundProposal

# Due awards decided per transaction: the verification task repeats until none are left.
VERIFY_BATCH = 500
LEADERS_SHOWN = 10

_CONFIRMED = Q(reputation_awards__state=AwardState.CONFIRMED)


@dataclass(frozen=True)
class Summary:
    points: int
    # Answers with at least one confirmed award: tickets they demonstrably prevented.
    answers: int
    # Awards still in their window; None when the viewer may not see them.
    pending: int | None


@dataclass(frozen=True)
class Leader:
    person: User
    points: int
    answers: int


def score(person: User) -> int:
    """``person``'s reputation: the sum of their confirmed points."""
    total = ReputationAward.objects.filter(person=person, state=AwardState.CONFIRMED).aggregate(
        total=Coalesce(Sum("points"), 0)
    )["total"]
    return int(total)


def summary(person: User, *, viewer: Viewer) -> Summary:
    """Points, answers that prevented a ticket and — for the person themself and staff only —
    pending awards. One query."""
    confirmed = Q(state=AwardState.CONFIRMED)
    found = ReputationAward.objects.filter(person=person).aggregate(
        points=Coalesce(Sum("points", filter=confirmed), 0),
        answers=Count("answer", filter=confirmed, distinct=True),
        pending=Count("pk", filter=Q(state=AwardState.PENDING)),
    )
    own = getattr(viewer, "pk", None) == person.pk
    return Summary(
        points=int(found["points"]),
        answers=int(found["answers"]),
        pending=int(found["pending"]) if own or is_staff(viewer) else None,
    )


def leaders(
    viewer: Viewer,
    since: datetime | None = None,
    limit: int = LEADERS_SHOWN,
    department: str | None = None,
) -> list[Leader]:
    """The top helpers by confirmed points (earned since ``since``, if given), among the
    people ``viewer`` may see — of one ``department`` when given. One query."""
    confirmed = _CONFIRMED
    if since is not None:
        confirmed &= Q(reputation_awards__created_at__gte=since)
    everyone = User.objects.filter(is_active=True)
    if department:
        everyone = everyone.filter(department__iexact=department)
    people = (
        visible_to(viewer, everyone)
        .annotate(
            wall_points=Sum("reputation_awards__points", filter=confirmed),
            wall_answers=Count("reputation_awards__answer", filter=confirmed, distinct=True),
        )
        .filter(wall_points__gt=0)
        .order_by("-wall_points", "display_name", "pk")[:limit]
    )
    return [Leader(person, int(person.wall_points), int(person.wall_answers)) for person in people]


def _tickets(awards: list[ReputationAward]) -> dict[int, list[tuple[str, int, datetime, bool]]]:
    """Incidents each beneficiary raised, or said "me too" to, in the awards' overall window,
    by person: (number, service id, when — raised or joined —, raised by them). Joining an
    incident that already existed counts from the moment they joined: that was their ticket.
    One query for the batch."""
    beneficiaries = {award.beneficiary_id for award in awards}
    start = min(award.created_at for award in awards)
    end = max(award.verify_after for award in awards)
    rows = (
        Incident.objects.filter(
            Q(reporter_id__in=beneficiaries, created_at__gte=start, created_at__lte=end)
            | Q(
                affected__user_id__in=beneficiaries,
                affected__added_at__gte=start,
                affected__added_at__lte=end,
            )
        )
        .values_list(
            "number",
            "service_id",
            "created_at",
            "reporter_id",
            "affected__user_id",
            "affected__added_at",
        )
        .distinct()
    )
    found: dict[int, list[tuple[str, int, datetime, bool]]] = defaultdict(list)
    for number, service_id, created_at, reporter_id, affected_id, added_at in rows:
        if reporter_id in beneficiaries and start <= created_at <= end:
            found[reporter_id].append((number or "", service_id, created_at, True))
        if affected_id in beneficiaries and affected_id != reporter_id and added_at is not None:
            found[affected_id].append((number or "", service_id, added_at, False))
    return found


def _ticket_raised(award: ReputationAward, tickets: list[tuple[str, int, datetime, bool]]) -> str:
    """Why ``award`` is void (the first ticket in its own window), or "" when none was raised."""
    for number, service_id, created_at, raised in sorted(tickets, key=lambda t: t[2]):
        if award.service_id is not None and service_id != award.service_id:
            continue
        if award.created_at <= created_at <= award.verify_after:
            return f"raised {number}" if raised else f"affected by {number}"
    return ""


@transaction.atomic
def verify_due_awards(now: datetime) -> int:
    """Decide pending awards whose window has passed (up to VERIFY_BATCH): confirmed when the
    beneficiary reported, or was an affected user of, no incident on the award's service (any
    service when the question had none) created in the window; void otherwise. The same
    handful of queries for 3 or 300 awards. Returns how many were decided."""
    awards = list(
        ReputationAward.objects.select_for_update(of=("self",))
        .filter(state=AwardState.PENDING, verify_after__lte=now)
        .select_related("person")
        .order_by("verify_after", "pk")[:VERIFY_BATCH]
    )
    if not awards:
        return 0
    tickets = _tickets(awards)
    confirmed: list[ReputationAward] = []
    voided: list[ReputationAward] = []
    for award in awards:
        reason = _ticket_raised(award, tickets.get(award.beneficiary_id, []))
        award.decided_at = now
        if reason:
            award.state, award.void_reason = AwardState.VOID, reason
            voided.append(award)
        else:
            award.state = AwardState.CONFIRMED
            confirmed.append(award)
    if confirmed:
        ReputationAward.objects.filter(pk__in=[award.pk for award in confirmed]).update(
            state=AwardState.CONFIRMED, decided_at=now
        )
    if voided:
        ReputationAward.objects.bulk_update(
            voided, ["state", "decided_at", "void_reason"], batch_size=VERIFY_BATCH
        )
    confirmed_ids = {award.pk for award in confirmed}
    trail.record_many(
        trail.Change(
            actor=None,
            action=(
                "wall.reputation_confirmed" if award.pk in confirmed_ids else "wall.reputation_void"
            ),
            obj=award,
            after={"points": award.points, "reason": award.reason, "void": award.void_reason},
        )
        for award in awards
    )
    _tell_answerers(confirmed)
    return len(awards)


def _tell_answerers(confirmed: list[ReputationAward]) -> None:
    """One notice per answer and author, with the points it earned in this batch."""
    earned: dict[tuple[int, int], int] = defaultdict(int)
    people: dict[int, User] = {}
    for award in confirmed:
        earned[(award.person_id, award.answer_id)] += award.points
        people[award.person_id] = award.person
    do_send_notices(
        Notice(
            recipient=people[person_id],
            kind="wall.reputation",
            title=f"Your answer prevented a ticket: +{points} reputation",
            url=POST_URL.format(pk=answer_id),
        )
        for (person_id, answer_id), points in earned.items()
    )


def departments(viewer: Viewer) -> list[str]:
    """The departments of the people ``viewer`` may see who have reputation (for the filter)."""
    rows = (
        visible_to(viewer, User.objects.filter(is_active=True))
        .filter(reputation_awards__state=AwardState.CONFIRMED)
        .exclude(department="")
        .values_list("department", flat=True)
        .distinct()
    )
    return sorted(set(rows), key=str.lower)


# --- Badges (computed on the fly from confirmed awards: nothing to keep in step) ----------------


@dataclass(frozen=True)
class Badge:
    slug: str
    name: str
    description: str


BADGES = {
    "first_prevented": Badge(
        "first_prevented", "First ticket prevented", "An answer that prevented a ticket"
    ),
    "ten_verified": Badge("ten_verified", "Ten verified", "Ten verified helps"),
    "article_author": Badge(
        "article_author", "Article author", "An answer became a published article"
    ),
    "workaround_author": Badge(
        "workaround_author", "Workaround author", "An answer became a problem's workaround"
    ),
}
TEN = 10


def badges(person: User) -> list[Badge]:
    """The badges ``person`` earned, from their confirmed awards. One query."""
    confirmed = Q(state=AwardState.CONFIRMED)
    found = ReputationAward.objects.filter(person=person).aggregate(
        verified=Count("pk", filter=confirmed),
        articles=Count("pk", filter=confirmed & Q(reason=AwardReason.ARTICLE)),
        workarounds=Count("pk", filter=confirmed & Q(reason=AwardReason.WORKAROUND)),
    )
    earned: list[Badge] = []
    if found["verified"]:
        earned.append(BADGES["first_prevented"])
    if found["verified"] >= TEN:
        earned.append(BADGES["ten_verified"])
    if found["articles"]:
        earned.append(BADGES["article_author"])
    if found["workarounds"]:
        earned.append(BADGES["workaround_author"])
    return earned


# --- Answers that became articles or workarounds ------------------------------------------------


def award_published(now: datetime) -> int:
    """Confirmed awards for answers whose article draft was published, or whose proposal was
    adopted as a problem's workaround and the known error published: the publication is the
    verification. Idempotent (one award per answer and reason); run with the hourly check.
    Returns how many were made."""
    from hashdesk.knowledge.choices import ArticleOrigin, ArticleState
    from hashdesk.knowledge.models import Article
    from hashdesk.wall.answers import ARTICLE_POINTS, WORKAROUND_POINTS

    made: list[ReputationAward] = []
    article_answers = Article.objects.filter(
        origin=ArticleOrigin.WALL_ANSWER, state=ArticleState.PUBLISHED, origin_id__isnull=False
    ).values_list("origin_id", flat=True)
    already = ReputationAward.objects.filter(reason=AwardReason.ARTICLE).values("answer_id")
    for answer in (
        Post.objects.filter(pk__in=article_answers, deleted_at__isnull=True)
        .exclude(pk__in=already)
        .select_related("thread_root")
    ):
        made.append(_published_award(answer, AwardReason.ARTICLE, ARTICLE_POINTS, now))
    already = ReputationAward.objects.filter(reason=AwardReason.WORKAROUND).values("answer_id")
    adopted = (
        WorkaroundProposal.objects.filter(
            adopted_at__isnull=False,
            problem__known_error_published_at__isnull=False,
            answer__deleted_at__isnull=True,
        )
        .exclude(answer_id__in=already)
        .select_related("answer", "answer__thread_root")
    )
    seen: set[int] = set()
    for proposal in adopted:
        if proposal.answer_id not in seen:
            seen.add(proposal.answer_id)
            made.append(
                _published_award(proposal.answer, AwardReason.WORKAROUND, WORKAROUND_POINTS, now)
            )
    if made:
        ReputationAward.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)


def _published_award(answer: Post, reason: str, points: int, now: datetime) -> ReputationAward:
    root = answer.thread_root
    beneficiary_id = root.author_id if root is not None else answer.author_id
    return ReputationAward(
        person_id=answer.author_id,
        beneficiary_id=beneficiary_id,
        answer=answer,
        service_id=root.service_id if root is not None else None,
        reason=reason,
        points=points,
        state=AwardState.CONFIRMED,
        created_at=now,
        verify_after=now,
        decided_at=now,
    )
