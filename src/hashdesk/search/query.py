"""One search over articles, answers, posts and incidents (docs/search.md).

Built on the insight engine's index (``insights.IndexedItem`` + its FTS5 table on SQLite / GIN
index on PostgreSQL): one index, not two.

1. The query is analysed like the index (``insights.text.tokens``). Each word becomes a
   *group* of alternatives: the word, its synonyms (``search.Synonym``, phrases of up to three
   words), and, when the index has never seen it, the known words within edit distance 1-2
   (``search.vocabulary``). Items must match every group (AND of ORs); when nothing does and
   there are several groups, any group will do. Every term is quoted, so FTS syntax in a query
   (``"``, ``*``, ``NEAR``, ``-``, ``:``) is only ever text.
2. Up to ``CANDIDATES`` items are ranked by the index (bm25 / ``ts_rank_cd``), or newest
   first when even the rarest group is too common to rank cheaply; type, service and date
   filters are part of the query.
3. Visibility is never in the index: candidates are read back through
   ``core.visibility.visible_to`` (one query per kind, the insight engine's readers), so the
   hits and the counts per type hold only what the viewer may see.
4. Highlights are computed from the record itself (hashdesk.search.highlight).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils.safestring import SafeString

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer, is_staff
from hashdesk.insights import similar
from hashdesk.insights import text as analyser
from hashdesk.insights.choices import ItemKind
from hashdesk.search import highlight, synonyms, vocabulary

# Kinds offered, in the order of the filter chips; the staff-only ones after.
PUBLIC_KINDS: tuple[str, ...] = (ItemKind.ARTICLE, ItemKind.POST, ItemKind.INCIDENT)
STAFF_KINDS: tuple[str, ...] = (ItemKind.KNOWN_ERROR, ItemKind.PROBLEM)
ALL_KINDS = PUBLIC_KINDS + STAFF_KINDS
LABELS: dict[str, str] = {
    ItemKind.ARTICLE: "Articles",
    ItemKind.POST: "Posts and answers",
    ItemKind.INCIDENT: "Incidents",
    ItemKind.KNOWN_ERROR: "Known errors",
    ItemKind.PROBLEM: "Problems",
}
# Items asked of the index per search; counts and pages are over the visible ones among them.
CANDIDATES = 100
# Groups whose postings (document frequencies) sum to more than this are not ranked by bm25
# but returned newest first (an ordered walk of the index that stops at CANDIDATES).
RANK_BUDGET = 6_000
# PostgreSQL, newest first: a query matching at least this share of the index walks the
# primary key backwards instead of sorting every match.
WALK_SHARE = 0.02
QUERY_MAX = 200
WORDS_MAX = 8
LIMIT_MAX = 50
SYNONYM_PHRASE_MAX = 3

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """One query word and its alternatives (each a phrase: all its words must be there)."""

    word: str
    alternatives: tuple[Phrase, ...]
    corrected: bool = False
    # About how many items match the group (sum over alternatives of their rarest word's).
    postings: int = 0


@dataclass(frozen=True)
class Hit:
    kind: str
    object: Model
    title: str
    url: str
    title_html: SafeString
    snippet_html: SafeString
    created_at: datetime | None

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    # Visible matches per kind (among the CANDIDATES best), for the filter chips.
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    # True when there may be more matches than counted.
    capped: bool = False
    # The query with typos replaced, when a word was corrected ("Did you mean …").
    corrected: str | None = None
    # The query matched any of its words (all of them together matched nothing).
    any_word: bool = False
    next_offset: int | None = None
    kinds: list[str] = field(default_factory=list)


def kinds_for(viewer: Viewer) -> list[str]:
    return list(ALL_KINDS if is_staff(viewer) else PUBLIC_KINDS)


def parse_kinds(kinds: Iterable[str] | None) -> list[str] | None:
    if kinds is None:
        return None
    wanted = [str(kind) for kind in kinds if str(kind)]
    if not wanted:
        return None
    unknown = set(wanted) - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown type(s): {', '.join(sorted(unknown))}")
    return [kind for kind in ALL_KINDS if kind in wanted]


# --- The query's groups ----------------------------------------------------------------------


def _document_frequencies(terms: list[str]) -> dict[str, int]:
    """Exact on SQLite (fts5vocab); on PostgreSQL the sample's estimate, and for a word the
    sample lacks, how often the index has it (capped; an indexed count each)."""
    if not terms:
        return {}
    df = similar._document_frequencies(terms)
    if connection.vendor != "postgresql":
        return {term: df.get(term, 0) for term in terms}
    known = vocabulary.vocabulary().counts
    out: dict[str, int] = {}
    with connection.cursor() as cursor:
        for term in terms:
            if term in known:
                out[term] = df.get(term, 1)
                continue
            # Counted up to a cap rather than LIMIT 1: for a word the planner thinks rare,
            # LIMIT 1 makes it scan the whole table hoping for an early hit (200 ms at a
            # million rows) instead of asking the GIN index (2 ms).
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM insights_indexeditem WHERE search_vector "
                "@@ plainto_tsquery('simple', %s) LIMIT 1000) found",
                [term],
            )
            row = cursor.fetchone()
            out[term] = int(row[0]) if row else 0
    return out


def groups_of(q: str) -> tuple[list[Group], str | None]:
    """The query's groups, and the corrected query text when a word was corrected."""
    raw_words = q.split()[: WORDS_MAX * 2]
    # Analysed terms with the raw word each came from (to rewrite "did you mean").
    pairs: list[tuple[str, int]] = []
    for index, raw in enumerate(raw_words):
        for token in analyser.tokens(raw):
            pairs.append((token, index))
    pairs = pairs[:WORDS_MAX]
    terms = [term for term, _ in pairs]
    if not terms:
        return [], None
    expansions = synonyms.expansion_map()
    df = _document_frequencies(list(dict.fromkeys(terms)))
    groups: list[Group] = []
    corrected_words = list(raw_words)
    any_corrected = False
    i = 0
    while i < len(terms):
        matched = False
        for size in range(min(SYNONYM_PHRASE_MAX, len(terms) - i), 0, -1):
            key = tuple(terms[i : i + size])
            if key in expansions:
                alternatives = (key, *sorted(expansions[key]))
                groups.append(Group(" ".join(key), alternatives))
                i += size
                matched = True
                break
        if matched:
            continue
        term, raw_index = pairs[i]
        if df.get(term, 0) == 0:
            near = vocabulary.vocabulary().corrections(term)
            if near:
                alternatives = (*((n,) for n in near),)
                for n in near:
                    alternatives += tuple(sorted(expansions.get((n,), ())))
                groups.append(Group(term, alternatives, corrected=True))
                corrected_words[raw_index] = near[0]
                any_corrected = True
                i += 1
                continue
        groups.append(Group(term, ((term,),)))
        i += 1
    corrected = " ".join(corrected_words) if any_corrected else None
    extra = {term for group in groups for phrase in group.alternatives for term in phrase} - set(df)
    if extra:
        df.update(similar._document_frequencies(sorted(extra)))
    groups = [
        Group(
            group.word,
            group.alternatives,
            group.corrected,
            sum(min(df.get(term, 0) for term in phrase) for phrase in group.alternatives),
        )
        for group in groups
    ]
    return groups, corrected


def highlight_terms(groups: list[Group]) -> set[str]:
    return {term for group in groups for phrase in group.alternatives for term in phrase}


# --- Candidates from the index -----------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    kind: str
    object_id: int


def _postings(groups: list[Group], any_group: bool) -> int:
    """About how many postings a ranked query would score: the rarest group's when every
    group must match (AND), all of them when any will do (OR)."""
    per_group = [group.postings for group in groups]
    if not per_group:
        return 0
    return sum(per_group) if any_group else min(per_group)


def _fts5_quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite_match(groups: list[Group], any_group: bool, kinds: list[str] | None) -> str:
    parts = []
    for group in groups:
        alternatives = [
            "(" + " AND ".join(_fts5_quoted(term) for term in phrase) + ")"
            for phrase in group.alternatives
        ]
        parts.append("(" + " OR ".join(alternatives) + ")")
    match = "(text : (" + (" OR " if any_group else " AND ").join(parts) + "))"
    if kinds is None:
        return match
    # The kind filter as the smaller of "one of these" and "none of the others": the index
    # walks the tag's postings, and the kinds searched are most of the index.
    others = [kind for kind in ItemKind.values if kind not in kinds]
    if others and len(others) <= len(kinds):
        match += " NOT tags : (" + " OR ".join(_fts5_quoted(kind) for kind in others) + ")"
    elif others:
        match += " AND tags : (" + " OR ".join(_fts5_quoted(kind) for kind in kinds) + ")"
    return match


def _filters(
    service: Service | None, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if service is not None:
        where.append("i.service_id = %s")
        params.append(service.pk)
    if since is not None:
        where.append("i.created_at >= %s")
        params.append(since)
    if until is not None:
        where.append("i.created_at < %s")
        params.append(until)
    return where, params


def _sqlite_candidates(
    groups: list[Group],
    any_group: bool,
    kinds: list[str],
    ranked: bool,
    where: list[str],
    params: list[Any],
) -> list[_Candidate]:
    if ranked:
        # Few matches (the rarest group is rare): the kinds are filtered on the joined rows,
        # sparing the index a walk of the kind tags' postings (most of the index).
        match = _sqlite_match(groups, any_group, None)
        where = [f"i.kind IN ({', '.join(['%s'] * len(kinds))})", *where]
        params = [*kinds, *params]
    else:
        match = _sqlite_match(groups, any_group, kinds)
    # Ranked: bm25 over every match (few: the rarest group is rare). Newest first: the index
    # walks its postings backwards and stops at the limit (only a bare ``rowid DESC`` does);
    # with filters on the joined rows, the join streams in that order until enough pass.
    fts = "insights_indexeditem_fts"
    order = f"bm25({fts}, 1.0, 0.0)" if ranked else f"{fts}.rowid DESC"
    if where:
        sql = (
            f"SELECT i.kind, i.object_id FROM {fts} "  # noqa: S608
            f"JOIN insights_indexeditem i ON i.id = {fts}.rowid "
            f"WHERE {fts} MATCH %s AND {' AND '.join(where)} ORDER BY {order} LIMIT %s"
        )
        arguments = [match, *params, CANDIDATES]
    else:
        rank = f"bm25({fts}, 1.0, 0.0)" if ranked else f"-{fts}.rowid"
        sql = (
            f"SELECT i.kind, i.object_id FROM (SELECT {fts}.rowid AS id, {rank} AS r "  # noqa: S608
            f"FROM {fts} WHERE {fts} MATCH %s ORDER BY {order} LIMIT %s) top "
            "JOIN insights_indexeditem i ON i.id = top.id ORDER BY top.r"
        )
        arguments = [match, CANDIDATES]
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        return [_Candidate(kind, int(pk)) for kind, pk in cursor.fetchall()]


def _share(groups: list[Group], any_group: bool) -> float:
    """The share of the index a query matches, about (groups taken as independent)."""
    doc_count, _ = similar._corpus()
    if not doc_count:
        return 0.0
    shares = [min(1.0, group.postings / doc_count) for group in groups]
    if any_group:
        return min(1.0, sum(shares))
    product = 1.0
    for share in shares:
        product *= share
    return product


def _postgres_candidates(
    groups: list[Group],
    any_group: bool,
    kinds: list[str],
    ranked: bool,
    where: list[str],
    params: list[Any],
) -> list[_Candidate]:
    query_parts: list[str] = []
    query_params: list[Any] = []
    for group in groups:
        alternatives = []
        for phrase in group.alternatives:
            # plainto_tsquery of the phrase's words: all of them (never tsquery syntax).
            alternatives.append("plainto_tsquery('simple', %s)")
            query_params.append(" ".join(phrase))
        query_parts.append("(" + " || ".join(alternatives) + ")")
    query = (" || " if any_group else " && ").join(query_parts)
    vector = "i.search_vector"  # stored, analysed once (migration insights 0005)
    conditions = [f"{vector} @@ q.query", "i.kind = ANY(%s)", *where]
    if ranked:
        order = f"ts_rank_cd({vector}, q.query) DESC, i.id DESC"
    elif _share(groups, any_group) >= WALK_SHARE:
        # Common words: walking the primary key backwards finds enough within a few thousand
        # rows, cheaper than fetching every match from the GIN index to sort them.
        order = "i.id DESC"
    else:
        # ``i.id + 0``: the GIN bitmap and a top-N sort (the bare id would walk the key).
        order = "i.id + 0 DESC"
    sql = (
        f"SELECT i.kind, i.object_id FROM insights_indexeditem i, (SELECT {query} AS query) q "  # noqa: S608
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*query_params, kinds, *params, CANDIDATES])
        return [_Candidate(kind, int(pk)) for kind, pk in cursor.fetchall()]


def _candidates(
    groups: list[Group],
    any_group: bool,
    kinds: list[str],
    service: Service | None,
    since: datetime | None,
    until: datetime | None,
) -> list[_Candidate]:
    ranked = _postings(groups, any_group) <= RANK_BUDGET
    where, params = _filters(service, since, until)
    fetch = _sqlite_candidates if connection.vendor == "sqlite" else _postgres_candidates
    return fetch(groups, any_group, kinds, ranked, where, params)


# --- Reading back through visibility ---------------------------------------------------------


def _visible(viewer: Viewer, candidates: list[_Candidate]) -> list[tuple[str, Any]]:
    """The candidates ``viewer`` may see, in order, as (kind, SimilarItem); an article shown
    as a known error is shown once."""
    ids_by_kind: dict[str, list[int]] = {}
    for candidate in candidates:
        ids_by_kind.setdefault(candidate.kind, []).append(candidate.object_id)
    readable: dict[tuple[str, int], Any] = {}
    for kind, ids in ids_by_kind.items():
        for pk, item in similar._READERS[kind](viewer, ids).items():
            readable[(kind, pk)] = item
    known_articles = {
        item.object.pk for (kind, _pk), item in readable.items() if kind == ItemKind.KNOWN_ERROR
    }
    out = []
    for candidate in candidates:
        found = readable.get((candidate.kind, candidate.object_id))
        if found is None:
            continue
        if candidate.kind == ItemKind.ARTICLE and candidate.object_id in known_articles:
            continue
        out.append((candidate.kind, found))
    return out


def _gather(
    viewer: Viewer,
    groups: list[Group],
    any_group: bool,
    kinds: list[str],
    wanted: int,
    service: Service | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[_Candidate], list[tuple[str, Any]]]:
    """The candidates, and those ``viewer`` may see. When the best ``CANDIDATES`` of all kinds
    leave fewer than ``wanted`` visible, each kind is asked on its own as well: a requester's
    search must not come back empty because the newest hundred matches were other people's
    incidents, while the articles and posts they may read sat just below the cut."""
    everything = _candidates(groups, any_group, kinds, service, since, until)
    visible = _visible(viewer, everything)
    if len(visible) >= wanted or len(everything) < CANDIDATES or len(kinds) < 2:
        return everything, visible
    seen = {(candidate.kind, candidate.object_id) for candidate in everything}
    for kind in kinds:
        extra = [
            candidate
            for candidate in _candidates(groups, any_group, [kind], service, since, until)
            if (candidate.kind, candidate.object_id) not in seen
        ]
        seen.update((candidate.kind, candidate.object_id) for candidate in extra)
        everything.extend(extra)
        visible.extend(_visible(viewer, extra))
    return everything, visible


def search(
    viewer: Viewer,
    q: str,
    *,
    kinds: Iterable[str] | None = None,
    service: Service | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Results:
    """Items matching ``q`` that ``viewer`` may see, best first (``limit`` from ``offset``),
    with visible counts per kind. ``kinds`` narrows the types (ValueError for an unknown one;
    staff-only types asked by others give nothing); ``service`` and ``since``/``until`` (on
    the item's date) filter. The service must be one the viewer may see (callers check)."""
    q = (q or "")[:QUERY_MAX]
    allowed = kinds_for(viewer)
    wanted = parse_kinds(kinds)
    chosen = [kind for kind in (wanted or allowed) if kind in allowed]
    limit = max(1, min(int(limit), LIMIT_MAX))
    offset = max(0, int(offset))
    results = Results(query=q, kinds=allowed)
    if connection.vendor not in ("sqlite", "postgresql"):
        return results
    groups, corrected = groups_of(q)
    results.corrected = corrected
    if not groups or not chosen:
        return results
    any_group = False
    wanted_count = offset + limit
    everything, visible = _gather(
        viewer, groups, False, allowed, wanted_count, service, since, until
    )
    if not visible and len(groups) > 1:
        # Nothing the viewer may see has every word: items having some of them.
        any_group = True
        everything, visible = _gather(
            viewer, groups, True, allowed, wanted_count, service, since, until
        )
    results.any_word = any_group
    counts: dict[str, int] = {kind: 0 for kind in allowed}
    for kind, _item in visible:
        counts[kind] += 1
    results.counts = counts
    results.capped = len(everything) >= CANDIDATES
    if set(chosen) == set(allowed):
        matching = visible
    else:
        # Asked on their own so another type's many matches cannot crowd them out.
        _found, matching = _gather(
            viewer, groups, any_group, chosen, wanted_count, service, since, until
        )
    results.total = len(matching)
    page = matching[offset : offset + limit]
    terms = highlight_terms(groups)
    results.hits = [_hit(kind, item, terms) for kind, item in page]
    if offset + limit < len(matching):
        results.next_offset = offset + limit
    return results


def _texts(kind: str, obj: Any) -> tuple[str, str]:
    """(title, body) of the record, as stored."""
    if kind == ItemKind.INCIDENT:
        return obj.title, obj.description
    if kind == ItemKind.PROBLEM:
        return obj.title, analyser.joined([obj.description, obj.workaround])
    if kind in (ItemKind.ARTICLE, ItemKind.KNOWN_ERROR):
        return obj.title, obj.body
    return "", obj.body


def _hit(kind: str, item: Any, terms: set[str]) -> Hit:
    title, body = _texts(kind, item.object)
    shown_title = item.title if kind in (ItemKind.POST, ItemKind.INCIDENT) else title
    return Hit(
        kind=kind,
        object=item.object,
        title=item.title,
        url=item.url,
        title_html=highlight.marked(shown_title, terms),
        snippet_html=highlight.snippet(body, terms),
        created_at=getattr(item.object, "created_at", None),
    )
