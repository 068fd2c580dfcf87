"""Similar items everywhere: the open incidents, problems, known errors, articles, posts and
chat messages that read like a text, among those a person may see (docs/insights.md).

1. The text is analysed like the index (``insights.text.tokens``); its terms are ordered by
   document frequency (the FTS5 vocabulary on SQLite, a cached sample of the index on
   PostgreSQL).
2. ``plan``: the rarest terms, while the postings they make the index walk stay under
   ``DF_BUDGET``, are OR-ed and ranked by the index (bm25 / ``ts_rank_cd``), ``CANDIDATES``
   rows, with the kind and open filters inside the match; when that finds too little, or the
   rarest word is already common, the newest items having the next words *together* are
   asked for. So a query costs about the same at a thousand or a million items.
3. ``insights.ranking.rerank`` orders them (symmetric BM25 with title weight, word pairs and
   release prefixes); the same service and open incidents/problems get a small boost.
4. Visibility is never in the index: the hits are read back a chunk at a time, grouped by kind,
   through ``core.visibility.visible_to`` (one query per kind), so nothing a person may not see
   is ever returned, and the over-fetch keeps invisible hits from starving the result.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model
from django.urls import NoReverseMatch, reverse

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer, is_staff, visible_to
from hashdesk.insights import ranking
from hashdesk.insights import text as analyser
from hashdesk.insights.choices import ItemKind

# Query terms asked of the full-text index (the rarest ones).
QUERY_TERMS = 8
# Candidates the full-text index returns for reranking and visibility checks.
CANDIDATES = 100
# The most postings the ranked candidate query may walk (sum of the chosen terms' document
# frequencies). A text whose rarest word is commoner than this asks for the newest items having
# its rarest words together instead (an ordered walk that stops at ``CANDIDATES``).
DF_BUDGET = 6_000
COMMON_TERMS = 3
LIMIT_MAX = 50
TEXT_MAX = 5_000
# Boosts after reranking (multiplicative): same service, open incident/problem.
SAME_SERVICE_BOOST = 1.15
OPEN_BOOST = 1.10
# A hit must share at least this share of the query's rarity (idf mass) to be shown.
MIN_SHARE = 0.15
# Chunks of candidates read back through visibility at most (each 4 x limit, at least 30).
READ_ROUNDS = 2
# Corpus statistics (size, mean length; PostgreSQL document frequencies) are cached this long.
STATS_TTL = 300.0
PG_SAMPLE = 20_000
SNIPPET_CHARS = 240

ALL_KINDS: tuple[str, ...] = tuple(ItemKind.values)
# Kinds only service desk staff are offered (the index never decides visibility; this only
# spares queries whose answer is known to be empty).
STAFF_KINDS = frozenset({ItemKind.PROBLEM})


@dataclass(frozen=True)
class SimilarItem:
    kind: str  # insights.choices.ItemKind value
    object: Model  # the Incident / Problem / Article / Post / chat Message, visibility-checked
    score: float
    title: str
    url: str
    snippet: str = ""  # e.g. the workaround of a known error


@dataclass(frozen=True)
class _Candidate:
    id: int
    kind: str
    object_id: int
    service_id: int | None
    title: str
    text: str
    is_open: bool
    created_at: Any


# --- Corpus statistics -------------------------------------------------------------------------

_stats_lock = threading.Lock()
_stats: dict[str, tuple[float, Any]] = {}


def _cached(key: str, compute: Any) -> Any:
    now = time.monotonic()
    with _stats_lock:
        hit = _stats.get(key)
        if hit is not None and now - hit[0] < STATS_TTL:
            return hit[1]
    value = compute()
    with _stats_lock:
        _stats[key] = (now, value)
    return value


def forget_statistics() -> None:
    """Drop the cached corpus statistics (tests, after a rebuild)."""
    with _stats_lock:
        _stats.clear()
    _df_cache.clear()


def _corpus() -> tuple[int, float]:
    """(number of indexed items, mean analysed length), cached."""

    def compute() -> tuple[int, float]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), avg(length(text)) FROM "
                "(SELECT text FROM insights_indexeditem ORDER BY id DESC LIMIT 5000) recent"
            )
            _n, mean_chars = cursor.fetchone()
            # The row count, not the highest id: ids leave gaps (a rebuilt index, PostgreSQL's
            # sequences), and an inflated count scales every sampled term's document frequency
            # up with it, so common words would outweigh the rare ones. Cached like the rest.
            cursor.execute("SELECT count(*) FROM insights_indexeditem")
            (rows,) = cursor.fetchone()
        # Words average ~7 characters.
        return int(rows or 0), max(float(mean_chars or 0.0) / 7.0, 1.0)

    return _cached(f"corpus:{connection.alias}", compute)


# fts5vocab counts a term's documents by reading its postings, so common terms cost the most
# to ask about; their counts barely move, so they are remembered (``STATS_TTL``) once they are
# at least ``DF_CACHE_MIN``. Rare and unseen terms are always asked: a new item's words must be
# findable at once.
DF_CACHE_MIN = 50
DF_CACHE_MAX = 200_000
_df_cache: dict[str, tuple[float, int]] = {}


def _sqlite_document_frequencies(terms: list[str]) -> dict[str, int]:
    now = time.monotonic()
    found: dict[str, int] = {}
    missing: list[str] = []
    for term in terms:
        hit = _df_cache.get(term)
        if hit is not None and now - hit[0] < STATS_TTL:
            found[term] = hit[1]
        else:
            missing.append(term)
    if missing:
        # One equality lookup per term (fts5vocab seeks ``term = ?``; ``IN`` walks a range).
        lookup = "SELECT term, doc FROM insights_indexeditem_vocab WHERE col = 'text' AND term = %s"
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join([lookup] * len(missing)), missing)
            rows = cursor.fetchall()
        if len(_df_cache) > DF_CACHE_MAX:
            _df_cache.clear()
        for term, doc in rows:
            found[term] = int(doc)
            if doc >= DF_CACHE_MIN:
                _df_cache[term] = (now, int(doc))
    return found


def _document_frequencies(terms: list[str]) -> dict[str, int]:
    if not terms:
        return {}
    if connection.vendor == "sqlite":
        return _sqlite_document_frequencies(terms)
    sample, size = _cached(f"pg-sample:{connection.alias}", _pg_sample)
    doc_count, _ = _corpus()
    scale = doc_count / size if size else 0.0
    # A term missing from the sample is rare (or new since the sample): counted as 1, never
    # dropped, so a new item's words find it at once.
    return {term: max(1, round(sample.get(term, 0) * scale)) for term in terms}


def _pg_sample() -> tuple[Counter[str], int]:
    """Document frequencies in a sample of the newest items (PostgreSQL has no cheap
    per-term count): good enough to tell rare terms from common ones."""
    counts: Counter[str] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT text FROM insights_indexeditem ORDER BY id DESC LIMIT %s", [PG_SAMPLE]
        )
        rows = cursor.fetchall()
    for (text,) in rows:
        counts.update(set(text.split()))
    return counts, len(rows)


# --- Candidates from the full-text index --------------------------------------------------------

_COLUMNS = "i.id, i.kind, i.object_id, i.service_id, i.title, i.text, i.is_open, i.created_at"


def _sqlite_candidates(
    terms: list[str], kinds: list[str], open_only: bool, mode: str
) -> list[tuple]:
    joiner = " OR " if mode == "rank" else " AND "
    words = joiner.join('"' + term.replace('"', '""') + '"' for term in terms)
    match = f"text : ({words})"
    if len(kinds) < len(ALL_KINDS):
        match += " AND tags : (" + " OR ".join(f'"{kind}"' for kind in kinds) + ")"
    if open_only:
        match += ' AND tags : "open"'
    # Ranked: bm25 over every match (few, the terms are rare); recent: the index walks its
    # postings newest first and stops at the limit.
    order = "bm25(insights_indexeditem_fts, 1.0, 0.0)" if mode == "rank" else "-rowid"
    sql = (
        f"SELECT {_COLUMNS} FROM (SELECT rowid, {order} AS r "  # noqa: S608
        "FROM insights_indexeditem_fts WHERE insights_indexeditem_fts MATCH %s "
        "ORDER BY r LIMIT %s) f JOIN insights_indexeditem i ON i.id = f.rowid ORDER BY f.r"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, CANDIDATES])
        return cursor.fetchall()


def _postgres_candidates(
    terms: list[str], kinds: list[str], open_only: bool, mode: str
) -> list[tuple]:
    joiner = " || " if mode == "rank" else " && "
    query = joiner.join(["plainto_tsquery('simple', %s)"] * len(terms))
    vector = "i.search_vector"  # stored, analysed once (migration insights 0005)
    where = [f"{vector} @@ q.query"]
    params: list[Any] = [*terms]
    if len(kinds) < len(ALL_KINDS):
        where.append("i.kind = ANY(%s)")
        params.append(kinds)
    if open_only:
        where.append("i.is_open")
    params.append(CANDIDATES)
    # ``i.id + 0``: newest first through the GIN bitmap and a top-N sort. Ordered by the bare
    # id, the planner walks the primary key backwards computing every row's tsvector until it
    # has enough, which is far slower when the words are common.
    order = f"ts_rank_cd({vector}, q.query) DESC, i.id DESC" if mode == "rank" else "i.id + 0 DESC"
    sql = (
        f"SELECT {_COLUMNS} FROM insights_indexeditem i, (SELECT {query} AS query) q "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _candidates(
    plans: list[Plan], kinds: list[str], open_only: bool, enough: int
) -> list[_Candidate]:
    """Candidates by the first plan; by the next ones only while fewer than ``enough``."""
    fetch = _sqlite_candidates if connection.vendor == "sqlite" else _postgres_candidates
    rows: list[tuple] = []
    seen: set[int] = set()
    for step in plans:
        if len(rows) >= enough:
            break
        for row in fetch(step.terms, kinds, open_only, step.mode):
            if row[0] not in seen:
                seen.add(row[0])
                rows.append(row)
    return [
        _Candidate(
            id=row[0],
            kind=row[1],
            object_id=row[2],
            service_id=row[3],
            title=row[4],
            text=row[5],
            is_open=bool(row[6]),
            created_at=row[7],
        )
        for row in rows
    ]


# --- Reading the hits back through visibility ---------------------------------------------------


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _excerpt(body: str) -> str:
    body = " ".join(body.split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1].rstrip() + "…"


def _read_incidents(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    from hashdesk.incidents.models import Incident

    found = visible_to(viewer, Incident.objects.filter(pk__in=ids)).defer("description_html")
    return {
        incident.pk: SimilarItem(
            kind=ItemKind.INCIDENT,
            object=incident,
            score=0.0,
            title=f"{incident.number} {incident.title}" if incident.number else incident.title,
            url=_url("incidents:detail", incident.number) if incident.number else "",
            snippet=_excerpt(incident.description),
        )
        for incident in found
    }


def _read_problems(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    from hashdesk.problems.models import Problem

    found = visible_to(viewer, Problem.objects.filter(pk__in=ids))
    return {
        problem.pk: SimilarItem(
            kind=ItemKind.PROBLEM,
            object=problem,
            score=0.0,
            title=f"{problem.number} {problem.title}" if problem.number else problem.title,
            url=_url("problems:detail", problem.number) if problem.number else "",
            snippet=_excerpt(problem.workaround or problem.description),
        )
        for problem in found
    }


def _read_known_errors(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    """Known errors are found by their problem, shown as their published article (which is
    what the viewer's visibility is checked on), with the workaround as the snippet."""
    from hashdesk.knowledge.choices import ArticleState
    from hashdesk.knowledge.models import Article
    from hashdesk.problems.models import Problem

    workarounds = dict(
        Problem.objects.filter(
            pk__in=ids,
            known_error_article__isnull=False,
            known_error_article__state=ArticleState.PUBLISHED,
        ).values_list("pk", "known_error_article_id")
    )
    if not workarounds:
        return {}
    problems = {
        row["pk"]: row
        for row in Problem.objects.filter(pk__in=list(workarounds)).values("pk", "workaround")
    }
    articles = {
        article.pk: article
        for article in visible_to(viewer, Article.objects.filter(pk__in=workarounds.values()))
    }
    out = {}
    for problem_id, article_id in workarounds.items():
        article = articles.get(article_id)
        if article is None:
            continue
        out[problem_id] = SimilarItem(
            kind=ItemKind.KNOWN_ERROR,
            object=article,
            score=0.0,
            title=article.title,
            url=_url("knowledge:article", article.number) if article.number else "",
            snippet=_excerpt(problems[problem_id]["workaround"] or article.body),
        )
    return out


def _read_articles(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    from hashdesk.knowledge.models import Article

    return {
        article.pk: SimilarItem(
            kind=ItemKind.ARTICLE,
            object=article,
            score=0.0,
            title=article.title,
            url=_url("knowledge:article", article.number) if article.number else "",
            snippet=_excerpt(article.body),
        )
        for article in visible_to(viewer, Article.objects.filter(pk__in=ids))
    }


def _read_posts(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    from hashdesk.wall.models import Post

    found = visible_to(viewer, Post.objects.filter(pk__in=ids, deleted_at__isnull=True))
    out = {}
    for post in found.defer("body_html", "redactions"):
        root = post.thread_root_id or post.reply_to_id
        url = _url("wall:post", root or post.pk)
        out[post.pk] = SimilarItem(
            kind=ItemKind.POST,
            object=post,
            score=0.0,
            title=_excerpt(post.body.strip().splitlines()[0] if post.body.strip() else "")[:120],
            url=f"{url}#post-{post.pk}" if root and url else url,
            snippet=_excerpt(post.body),
        )
    return out


def _read_messages(viewer: Viewer, ids: list[int]) -> dict[int, SimilarItem]:
    from hashdesk.chat.models import Message

    found = visible_to(viewer, Message.objects.filter(pk__in=ids, deleted_at__isnull=True))
    out = {}
    for message in found.select_related("room").defer("body_html", "redactions"):
        url = _url("chat:room", message.room_id)
        out[message.pk] = SimilarItem(
            kind=ItemKind.CHAT,
            object=message,
            score=0.0,
            title=f"{message.room.name}: {_excerpt(message.body)[:100]}",
            url=f"{url}#message-{message.pk}" if url else "",
            snippet=_excerpt(message.body),
        )
    return out


_READERS: dict[str, Callable[[Viewer, list[int]], dict[int, SimilarItem]]] = {
    ItemKind.INCIDENT: _read_incidents,
    ItemKind.PROBLEM: _read_problems,
    ItemKind.KNOWN_ERROR: _read_known_errors,
    ItemKind.ARTICLE: _read_articles,
    ItemKind.POST: _read_posts,
    ItemKind.CHAT: _read_messages,
}


# --- The query ----------------------------------------------------------------------------------


def parse_kinds(kinds: Iterable[str] | None) -> list[str]:
    """The requested kinds in index order; ValueError for one the index does not know."""
    if kinds is None:
        return list(ALL_KINDS)
    wanted = {str(kind) for kind in kinds}
    unknown = wanted - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown kind(s): {', '.join(sorted(unknown))}")
    return [kind for kind in ALL_KINDS if kind in wanted]


def query_terms(text: str) -> tuple[list[str], dict[str, int]]:
    """The distinct analysed terms of ``text`` the index knows, rarest first, and the document
    frequency of each."""
    terms = list(dict.fromkeys(analyser.tokens(text[:TEXT_MAX])))
    if not terms:
        return [], {}
    df = _document_frequencies(terms)
    present = [term for term in terms if df.get(term, 0) > 0]
    # Terms the index has never seen match nothing; the rarest of the rest carry the query.
    present.sort(key=lambda term: (df[term], terms.index(term)))
    return present, df


@dataclass(frozen=True)
class Plan:
    """How the candidates are asked for: ``any`` of the rare ``terms`` ranked by the index, or,
    when even the rarest word is common, ``all`` of the few rarest, newest first."""

    terms: list[str]
    mode: str  # "rank" or "recent"


def plan(terms: list[str], df: dict[str, int]) -> list[Plan]:
    rare: list[str] = []
    walked = 0
    for term in terms[:QUERY_TERMS]:
        if rare and walked + df[term] > DF_BUDGET:
            break
        rare.append(term)
        walked += df[term]
    if walked <= DF_BUDGET:
        plans = [Plan(rare, "rank")]
        common = terms[len(rare) :][:COMMON_TERMS]
        if len(common) >= 2:
            # Also the newest items with the commoner words together, in case the rare words
            # were typos or one-offs (asked only when the rare ones found too little).
            plans.append(Plan(common, "recent"))
        return plans
    return [Plan(terms[:COMMON_TERMS], "recent")]


def similar_items(
    viewer: Viewer,
    text: str,
    *,
    service: Service | None = None,
    kinds: Iterable[str] | None = None,
    limit: int = 10,
    open_only: bool = False,
    exclude: Iterable[tuple[str, int]] = (),
) -> list[SimilarItem]:
    """The items most similar to ``text`` that ``viewer`` may see, best first, at most
    ``limit``. ``service`` boosts that service's items; ``kinds`` restricts the kinds
    (ValueError for an unknown one); ``open_only`` keeps open items; ``exclude`` leaves out
    ``(kind, id)`` pairs (the record being edited). Known errors are returned as their article.
    A handful of queries whatever the size of the index: the vocabulary, the candidates, and
    one per kind among the candidates."""
    wanted = parse_kinds(kinds)
    if not is_staff(viewer):
        wanted = [kind for kind in wanted if kind not in STAFF_KINDS]
    limit = max(1, min(int(limit), LIMIT_MAX))
    if not wanted or connection.vendor not in ("sqlite", "postgresql"):
        return []
    terms, df = query_terms(text)
    if not terms:
        return []
    excluded = {(str(kind), int(pk)) for kind, pk in exclude}
    candidates = [
        c
        for c in _candidates(plan(terms, df), wanted, open_only, enough=2 * limit + len(excluded))
        if (c.kind, c.object_id) not in excluded
    ]
    if not candidates:
        return []
    doc_count, avg_len = _corpus()
    ranker = ranking.Ranker(
        doc_count=max(doc_count, len(candidates)),
        df=lambda term: df.get(term, 0),
        avg_len=avg_len,
    )
    query_doc = ranking.Doc(key=None, title="", text=" ".join(analyser.tokens(text[:TEXT_MAX])))
    docs = [
        ranking.Doc(key=c.id, title=c.title, text=c.text, created_at=c.created_at)
        for c in candidates
    ]
    by_id = {c.id: c for c in candidates}
    # The least a hit must score: a share of what the query's rarest words are worth.
    rarest = terms[:3]
    floor = MIN_SHARE * sum(ranker.word_idf(term) for term in rarest) / len(rarest)
    scored: list[tuple[float, _Candidate]] = []
    for doc, value in ranking.rerank(ranker, query_doc, docs, limit=len(docs)):
        candidate = by_id[doc.key]  # type: ignore[index]
        if value < floor:
            continue
        if service is not None and candidate.service_id == service.pk:
            value *= SAME_SERVICE_BOOST
        if candidate.is_open and candidate.kind in (ItemKind.INCIDENT, ItemKind.PROBLEM):
            value *= OPEN_BOOST
        scored.append((value, candidate))
    scored.sort(key=lambda pair: -pair[0])
    return _visible(viewer, scored, limit)


def _visible(
    viewer: Viewer, scored: list[tuple[float, _Candidate]], limit: int
) -> list[SimilarItem]:
    """The best ``limit`` of ``scored`` that ``viewer`` may see. Read back a chunk at a time
    (over-fetching, a query per kind in the chunk) so invisible hits cannot starve the result
    and a typical query reads one chunk; at most ``READ_ROUNDS`` chunks, so a text whose best
    matches are nearly all out of sight costs a bounded number of queries."""
    results: list[SimilarItem] = []
    chunk = max(4 * limit, 30)
    known_articles: set[int] = set()
    for start in range(0, min(len(scored), READ_ROUNDS * chunk), chunk):
        part = scored[start : start + chunk]
        ids_by_kind: dict[str, list[int]] = {}
        for _value, candidate in part:
            ids_by_kind.setdefault(candidate.kind, []).append(candidate.object_id)
        readable: dict[tuple[str, int], SimilarItem] = {}
        for kind, ids in ids_by_kind.items():
            for pk, item in _READERS[kind](viewer, ids).items():
                readable[(kind, pk)] = item
        # An article that is a known error's is shown once, as the known error.
        known_articles.update(
            item.object.pk for (kind, _pk), item in readable.items() if kind == ItemKind.KNOWN_ERROR
        )
        for value, candidate in part:
            found = readable.get((candidate.kind, candidate.object_id))
            if found is None:
                continue
            item = found
            if candidate.kind == ItemKind.ARTICLE and candidate.object_id in known_articles:
                continue
            results.append(
                SimilarItem(
                    kind=item.kind,
                    object=item.object,
                    score=round(value, 4),
                    title=item.title,
                    url=item.url,
                    snippet=item.snippet,
                )
            )
            if len(results) == limit:
                return results
    return results
