"""Sentiment and frustration of a text, and per service per day (docs/insights.md, "Sentiment").

A lexicon method written for Hashdesk: English and a few German words that people use about IT
(``works``, ``fixed``, ``thanks`` / ``broken``, ``crashes``, ``kaputt``...), each with a weight;
a negation within the three words before a word flips it ("not working", "funktioniert nicht"
is handled by looking one word *after* too for German); an intensifier before a word multiplies
it by 1.5. Frustration markers — "again", "still", "third time", "schon wieder", "!!!", shouting
in capitals — each pull the score down and mark the text *frustrated*. The raw sum is squashed
into [-1, 1] with ``x / sqrt(x² + 4)``.

:func:`aggregate_sentiment` writes ``SentimentDaily`` rows per service and day from wall posts,
chat messages (service rooms and live help) and incidents' public updates; the clustering job
uses :func:`score_text` for the frustration of a candidate's reports.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hashdesk.insights.text import fold

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CAPS_RE = re.compile(r"\b[A-ZÄÖÜ]{4,}\b")
_CLAUSE_RE = re.compile(r"[.,;:!?\n]+|\b(?:but|aber)\b")
_BANG_RE = re.compile(r"[!?]{3,}|!{2,}")

POSITIVE: dict[str, float] = {
    # English
    "work": 1.0,
    "works": 1.0,
    "working": 1.0,
    "worked": 1.0,
    "fixed": 1.5,
    "resolved": 1.5,
    "solved": 1.5,
    "thanks": 1.5,
    "thank": 1.5,
    "great": 2.0,
    "good": 1.5,
    "excellent": 2.5,
    "perfect": 2.5,
    "awesome": 2.5,
    "fast": 1.0,
    "quick": 1.0,
    "quickly": 1.0,
    "helpful": 2.0,
    "happy": 2.0,
    "love": 2.0,
    "nice": 1.5,
    "appreciate": 2.0,
    "appreciated": 2.0,
    "stable": 1.0,
    "smooth": 1.5,
    "fine": 1.0,
    "better": 1.0,
    # German (folded: no umlauts)
    "danke": 1.5,
    "super": 2.0,
    "gut": 1.5,
    "prima": 2.0,
    "toll": 2.0,
    "funktioniert": 1.0,
    "klappt": 1.0,
    "gelost": 1.5,
    "behoben": 1.5,
    "schnell": 1.0,
}

NEGATIVE: dict[str, float] = {
    # English
    "broken": 2.0,
    "broke": 2.0,
    "crash": 2.0,
    "crashes": 2.0,
    "crashing": 2.0,
    "crashed": 2.0,
    "fail": 2.0,
    "fails": 2.0,
    "failing": 2.0,
    "failed": 2.0,
    "failure": 2.0,
    "error": 1.5,
    "errors": 1.5,
    "down": 1.5,
    "slow": 1.5,
    "stuck": 1.5,
    "freeze": 1.5,
    "freezes": 1.5,
    "frozen": 1.5,
    "hangs": 1.5,
    "lost": 1.5,
    "cant": 1.5,
    "can't": 1.5,
    "unable": 1.5,
    "bad": 2.0,
    "terrible": 3.0,
    "awful": 3.0,
    "horrible": 3.0,
    "useless": 3.0,
    "annoying": 2.5,
    "frustrating": 3.0,
    "frustrated": 3.0,
    "ridiculous": 3.0,
    "unacceptable": 3.0,
    "worst": 3.0,
    "outage": 2.0,
    "drops": 1.5,
    "disconnected": 1.5,
    "disconnects": 1.5,
    "impossible": 2.0,
    "problem": 1.0,
    "issue": 0.5,
    "wrong": 1.5,
    # German (folded)
    "kaputt": 2.0,
    "fehler": 1.5,
    "langsam": 1.5,
    "absturz": 2.0,
    "sturzt": 2.0,
    "nervig": 2.5,
    "schlecht": 2.0,
    "unmoglich": 2.0,
    "ausfall": 2.0,
    "hangt": 1.5,
    "katastrophe": 3.0,
}

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "don't",
        "dont",
        "doesn't",
        "doesnt",
        "isn't",
        "isnt",
        "won't",
        "wont",
        "didn't",
        "didnt",
        "nothing",
        "nicht",
        "kein",
        "keine",
        "nie",
    ]
)
# German puts the negation after the verb: "funktioniert nicht", "geht nicht".
NEGATIONS_AFTER = frozenset(["nicht", "nie"])
INTENSIFIERS = frozenset(
    [
        "very",
        "really",
        "extremely",
        "so",
        "totally",
        "completely",
        "absolutely",
        "sehr",
        "total",
        "vollig",
        "echt",
    ]
)
# Words and phrases that say "this keeps happening" (folded text).
FRUSTRATION_PHRASES = (
    re.compile(r"\bagain\b"),
    re.compile(r"\bstill\b"),
    re.compile(r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time\b"),
    re.compile(r"\bevery (?:day|morning|time)\b"),
    re.compile(r"\bonce more\b"),
    re.compile(r"\bwieder\b"),
    re.compile(r"\bimmer noch\b"),
)
FRUSTRATION_WEIGHT = 1.0
NEGATION_WINDOW = 3
INTENSIFIER_FACTOR = 1.5
SQUASH = 4.0


@dataclass(frozen=True)
class Sentiment:
    score: float  # in [-1, 1]
    frustrated: bool
    markers: int

    @property
    def positive(self) -> bool:
        return self.score >= 0.2

    @property
    def negative(self) -> bool:
        return self.score <= -0.2


def _markers(raw: str, folded: str) -> int:
    found = sum(len(pattern.findall(folded)) for pattern in FRUSTRATION_PHRASES)
    found += len(_BANG_RE.findall(raw))
    # Shouting: two or more long words in capitals (a lone "VPN" or "HTTP" is an acronym).
    if len(_CAPS_RE.findall(raw)) >= 2:
        found += 1
    return found


def _clause_score(words: list[str]) -> float:
    total = 0.0
    for index, word in enumerate(words):
        weight = POSITIVE.get(word, 0.0) - NEGATIVE.get(word, 0.0)
        if not weight:
            continue
        before = words[max(0, index - NEGATION_WINDOW) : index]
        negated = any(w in NEGATIONS for w in before) or (
            index + 1 < len(words) and words[index + 1] in NEGATIONS_AFTER
        )
        if negated:
            # "not bad" is mildly positive, "not working" clearly negative.
            weight = -weight * (0.5 if weight < 0 else 1.0)
        if index > 0 and words[index - 1] in INTENSIFIERS:
            weight *= INTENSIFIER_FACTOR
        total += weight
    return total


def score_text(text: str) -> Sentiment:
    """The sentiment of one text."""
    folded = fold(text)
    total = 0.0
    # A negation reaches only within its clause: "no problem, all fine".
    for clause in _CLAUSE_RE.split(folded):
        total += _clause_score(_WORD_RE.findall(clause))
    markers = _markers(text, folded)
    total -= FRUSTRATION_WEIGHT * markers
    score = total / math.sqrt(total * total + SQUASH) if total else 0.0
    return Sentiment(
        score=round(max(-1.0, min(1.0, score)), 4),
        frustrated=markers > 0 and score < 0,
        markers=markers,
    )


# --- Per service per day ------------------------------------------------------------------------


@dataclass
class _Day:
    texts: int = 0
    positive: int = 0
    negative: int = 0
    frustrated: int = 0
    total: float = 0.0

    def add(self, sentiment: Sentiment) -> None:
        self.texts += 1
        self.positive += sentiment.positive
        self.negative += sentiment.negative
        self.frustrated += sentiment.frustrated
        self.total += sentiment.score


def _texts_since(since: datetime) -> list[tuple[int, datetime, str]]:
    """(service id, when, text) of the posts, chat messages and public updates since ``since``."""
    from hashdesk.chat.choices import MessageKind, RoomKind
    from hashdesk.chat.models import Message
    from hashdesk.incidents.choices import TimelineKind
    from hashdesk.incidents.models import TimelineEntry
    from hashdesk.wall.choices import ModerationState, PostKind
    from hashdesk.wall.models import Post

    rows: list[tuple[int, datetime, str]] = []
    rows += Post.objects.filter(
        created_at__gte=since,
        service__isnull=False,
        kind=PostKind.POST,
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
    ).values_list("service_id", "created_at", "body")
    rows += Message.objects.filter(
        created_at__gte=since,
        room__service__isnull=False,
        room__kind__in=[RoomKind.SERVICE, RoomKind.HELP],
        kind=MessageKind.MESSAGE,
        deleted_at__isnull=True,
    ).values_list("room__service_id", "created_at", "body")
    rows += TimelineEntry.objects.filter(
        created_at__gte=since,
        incident__service__isnull=False,
        kind=TimelineKind.PUBLIC_UPDATE,
        is_public=True,
    ).values_list("incident__service_id", "created_at", "body")
    return rows


def aggregate_sentiment(*, days: int = 30, now: datetime | None = None) -> int:
    """Recompute ``SentimentDaily`` for the last ``days`` days (today included); returns the
    number of rows written. Idempotent: days without texts lose their row."""
    from hashdesk.insights.models import SentimentDaily

    moment = now or timezone.now()
    zone = timezone.get_current_timezone()
    first_day = (moment.astimezone(zone) - timedelta(days=days - 1)).date()
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    buckets: dict[tuple[int, date], _Day] = defaultdict(_Day)
    for service_id, created_at, body in _texts_since(since):
        buckets[(service_id, created_at.astimezone(zone).date())].add(score_text(body or ""))
    rows = [
        SentimentDaily(
            service_id=service_id,
            day=day,
            texts=bucket.texts,
            positive=bucket.positive,
            negative=bucket.negative,
            frustrated=bucket.frustrated,
            score=round(bucket.total / bucket.texts, 4),
        )
        for (service_id, day), bucket in buckets.items()
    ]
    with transaction.atomic():
        SentimentDaily.objects.filter(day__gte=first_day).delete()
        SentimentDaily.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
