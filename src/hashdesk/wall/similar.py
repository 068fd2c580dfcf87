""" "Is it just me?": what the composer shows while someone types a post (docs/wall.md).

From the draft text: the service it is about (its first hashtag of a service the person may
see, else a service whose name appears in the text), that service's open incidents the person
may see, recent posts that share words with the draft, and the service's report rate. The
similarity is deliberately simple — the share of distinct words two texts have in common
(Jaccard) — and runs on a bounded set of recent candidates, so it costs a fixed handful of
queries while the person types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer, visible_to
from hashdesk.incidents.choices import OPEN_STATES
from hashdesk.incidents.models import Incident
from hashdesk.wall import parsing, trending
from hashdesk.wall.choices import ModerationState, PostKind
from hashdesk.wall.models import Post

RECENT = timedelta(hours=24)
CANDIDATES = 200
SIMILAR_MAX = 5
INCIDENTS_MAX = 5
MIN_SCORE = 0.2

_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'-]{2,}")
# Words that say nothing about what is broken.
_STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "all",
        "any",
        "can",
        "had",
        "her",
        "was",
        "one",
        "our",
        "out",
        "has",
        "him",
        "his",
        "how",
        "its",
        "may",
        "new",
        "now",
        "old",
        "see",
        "two",
        "who",
        "did",
        "get",
        "let",
        "put",
        "say",
        "she",
        "too",
        "use",
        "with",
        "this",
        "that",
        "from",
        "they",
        "have",
        "been",
        "were",
        "what",
        "when",
        "your",
        "will",
        "just",
        "also",
        "than",
        "then",
        "them",
        "there",
        "their",
        "about",
        "into",
        "only",
        "some",
        "very",
        "again",
        "still",
        "here",
        "today",
        "since",
        "does",
        "doesn't",
        "don't",
        "cannot",
        "can't",
        "isn't",
        "won't",
        "it's",
        "i'm",
    ]
)


@dataclass(frozen=True)
class SimilarPost:
    post: Post
    score: float


@dataclass(frozen=True)
class JustMe:
    service: Service | None
    incidents: list[Incident] = field(default_factory=list)
    similar: list[SimilarPost] = field(default_factory=list)
    rate: trending.ReportRate | None = None


def words(text: str) -> frozenset[str]:
    """The distinct meaningful words of ``text`` (lower case, 3+ characters, no stop words)."""
    lowered = text.lower()
    return frozenset(word for word in _WORD_RE.findall(lowered) if word not in _STOP_WORDS)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def detect_service(user: Viewer, text: str) -> Service | None:
    """The service ``text`` is about, among those ``user`` may see (at most two queries)."""
    services = visible_to(user, Service.objects.filter(is_active=True))
    tags = parsing.hashtags(text)
    if tags:
        by_tag = {service.hashtag: service for service in services.filter(hashtag__in=tags)}
        for tag in tags:
            if tag in by_tag:
                return by_tag[tag]
    lowered = text.lower()
    named = [
        service
        for service in services.only("id", "name", "hashtag", "visibility")
        if re.search(rf"(?<!\w){re.escape(service.name.lower())}(?!\w)", lowered)
    ]
    # The longest name wins: "VPN gateway" before "VPN".
    named.sort(key=lambda service: (-len(service.name), service.pk))
    return named[0] if named else None


def is_it_just_me(user: Viewer, text: str, now: datetime) -> JustMe:
    service = detect_service(user, text)
    incidents: list[Incident] = []
    rate = None
    if service is not None:
        incidents = list(
            visible_to(user, Incident.objects.filter(service=service, state__in=OPEN_STATES))
            .select_related("service")
            .order_by("priority", "-created_at")[:INCIDENTS_MAX]
        )
        rate = trending.report_rate(service, now, viewer=user)
    similar = similar_posts(user, text, now, service=service, limit=SIMILAR_MAX)
    return JustMe(service, incidents, similar, rate)


def similar_posts(
    user: Viewer, text: str, now: datetime, *, service: Service | None, limit: int
) -> list[SimilarPost]:
    """People's recent posts (of ``service`` when given) that ``user`` may see and that read
    like ``text``: best first, at most ``limit``. One query."""
    draft = words(text)
    if not draft:
        return []
    candidates = visible_to(user, Post.objects.all()).filter(
        kind=PostKind.POST,
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
        created_at__gte=now - RECENT,
        created_at__lte=now,
    )
    if service is not None:
        candidates = candidates.filter(service=service)
    similar: list[SimilarPost] = []
    for post in candidates.select_related("author").order_by("-created_at", "-id")[:CANDIDATES]:
        score = similarity(draft, words(post.body))
        if score >= MIN_SCORE:
            similar.append(SimilarPost(post, round(score, 3)))
    similar.sort(key=lambda item: (-item.score, -item.post.created_at.timestamp()))
    return similar[:limit]


# Kinds the composer adds to "Is it just me?" from the similarity index (insights.similar).
KNOWN_FIX_KINDS = ("known_error", "article")
KNOWN_FIXES_MAX = 3


def known_fixes(user: Viewer, text: str, service: Service | None = None) -> list[Any]:
    """Known errors (with their workaround) and articles that read like the draft, among those
    ``user`` may see: what "Is it just me?" offers beside the open incidents. The service is
    detected from the draft when not given. A list of ``insights.similar.SimilarItem``."""
    from hashdesk.insights.similar import similar_items

    if service is None:
        service = detect_service(user, text)
    return similar_items(user, text, service=service, kinds=KNOWN_FIX_KINDS, limit=KNOWN_FIXES_MAX)
