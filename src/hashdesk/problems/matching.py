"""Offering a published known error's workaround to new reports (docs/problems.md, "Offering").

``matching_known_errors`` asks the similarity index (``hashdesk.insights.similar``) for the
known errors most like a text, as ``viewer`` may see them (the index re-reads every hit
through ``core.visibility``), and maps each hit — a known-error article — back to its problem.

Which hit is *offered at once* (a wall post answered, a new incident updated) is decided on a
score of our own, because the index's scores are unnormalised BM25 (they grow with the query's
length and the corpus) and cannot carry a fixed threshold. ``score`` is the share of the
report's distinct analysed terms (``insights.text.terms``, the shared analyser) that the known
error's own text (title, description, root cause, workaround) contains. An automatic reply
should be precise: the default ``PROBLEMS_OFFER_MIN_SCORE`` 0.4 with at least ``MIN_SHARED`` (2)
terms in common means most of what the person wrote is what the known error is about ("VPN
drops every ten minutes" against "VPN drops every 10 minutes on Wi-Fi" scores 0.75), while a
report sharing only the service's name ("VPN password reset", 0.33) or one word is not
answered — it still sees the known error in the "Is it just me?" panel, ranked by the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer
from hashdesk.knowledge.models import Article
from hashdesk.problems.models import Problem

DEFAULT_OFFER_MIN_SCORE = 0.4
MIN_SHARED = 2
LIMIT = 3


@dataclass(frozen=True)
class KnownErrorMatch:
    problem: Problem
    article: Article
    score: float  # share of the report's terms the known error contains (0..1)
    shared: int  # how many terms they share
    rank_score: float  # the index's own score (for ordering)
    workaround: str
    url: str


def overlap(report: str, problem: Problem) -> tuple[float, int]:
    """(share of the report's distinct terms found in the known error, how many)."""
    from hashdesk.insights.text import terms

    asked = terms(report)
    if not asked:
        return 0.0, 0
    known = terms(
        " ".join([problem.title, problem.description, problem.root_cause, problem.workaround])
    )
    shared = len(asked & known)
    return shared / len(asked), shared


def offer_threshold() -> float:
    return float(getattr(settings, "PROBLEMS_OFFER_MIN_SCORE", DEFAULT_OFFER_MIN_SCORE))


def matching_known_errors(
    viewer: Viewer, text: str, service: Service | None = None, *, limit: int = LIMIT
) -> list[KnownErrorMatch]:
    """The published known errors most similar to ``text`` that ``viewer`` may read, in the
    index's order (at most ``limit``), with our overlap scores; empty without a text."""
    if not (text or "").strip():
        return []
    try:
        from hashdesk.insights.similar import similar_items
    except ImportError:  # pragma: no cover - the index arrives with the insights app
        return []
    hits = similar_items(viewer, text, service=service, kinds=("known_error",), limit=limit)
    articles = {hit.object.pk: hit for hit in hits if isinstance(hit.object, Article)}
    # The hits come in the index's order; dicts keep it.
    if not articles:
        return []
    problems = {
        p.known_error_article_id: p
        for p in Problem.objects.filter(
            known_error_article_id__in=list(articles), known_error_published_at__isnull=False
        )
        .select_related("known_error_article")
        .prefetch_related("services")
    }
    found = []
    for article_id, hit in articles.items():
        problem = problems.get(article_id)
        if problem is None or problem.known_error_article is None:
            continue
        share, shared = overlap(text, problem)
        found.append(
            KnownErrorMatch(
                problem=problem,
                article=problem.known_error_article,
                score=share,
                shared=shared,
                rank_score=float(hit.score),
                workaround=problem.workaround,
                url=hit.url,
            )
        )
    return found


def best_offer(viewer: Viewer, text: str, service: Service | None = None) -> KnownErrorMatch | None:
    """The known error to offer at once: the best match scoring at least the threshold, and —
    when the report names a service — one of the known error's own services. The offer is
    pushed without being asked for, so a Wi-Fi report is never answered with a VPN workaround
    because both speak of dropped connections; the typing panel still shows such near
    matches, where the person judges."""
    threshold = offer_threshold()
    for match in matching_known_errors(viewer, text, service):
        if match.score < threshold or match.shared < MIN_SHARED:
            continue
        if service is not None:
            services = {s.pk for s in match.problem.services.all()}
            if services and service.pk not in services:
                continue
        return match
    return None
