"""`hashdesk eval duplicates DIR`: finding a bug report's earlier duplicate (docs/insights.md).

DIR is a GitBugs project folder (``<Name>_bugs.csv`` + ``<Name>_bugs-combined.csv``) or a folder
of such project folders. Per project, every report that has a duplicate created before it is a
query; the candidates are all reports created before it (equal times: smaller id first), and a hit
is any of its earlier duplicates. Two rankers are measured by the same harness:

- ``bm25``: plain Okapi BM25 (k1=1.2, b=0.75, IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``), the
  summary and the description as one text, analysed by ``hashdesk.insights.text.tokens`` (folded
  lower case, stop words removed, light stemming), every query token counted (repeats included);
- ``hashdesk``: the product's ``hashdesk.insights.ranking.Ranker``.

Both take document frequencies and average length from the project's whole corpus text (all
reports, unsupervised: no duplicate labels or resolutions are read by either ranker). Reports
scoring 0 are not ranked; a query whose duplicates are all unranked counts 0 for every metric.
Pure Python: no database, no Django.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hashdesk.insights.ranking import Doc, Ranker, rerank
from hashdesk.insights.text import joined, tokens

CUTOFFS = (1, 5, 10)
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass
class Project:
    name: str
    reports: list[Doc]  # in creation order (ties: smaller id first)
    duplicates: dict[str, set[str]] = field(default_factory=dict)  # symmetric


@dataclass(frozen=True)
class Query:
    position: int  # index of the query report in Project.reports; candidates are those before it
    expected: frozenset[str]


# -- Reading the GitBugs layout ---------------------------------------------------------------


def _project_dirs(root: Path) -> list[Path]:
    if any(root.glob("*_bugs.csv")):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*_bugs.csv")))


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def _id_order(issue_id: str) -> tuple[int, int | str]:
    return (0, int(issue_id)) if issue_id.isdigit() else (1, issue_id)


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def load_project(folder: Path) -> Project:
    bugs = sorted(folder.glob("*_bugs.csv"))
    if not bugs:
        raise ValueError(f"{folder}: no *_bugs.csv")
    reports: dict[str, Doc] = {}
    for path in bugs:
        for row in _read_csv(path):
            issue_id = (row.get("Issue id") or "").strip()
            created = (row.get("Created") or "").strip()
            if not issue_id or not created:
                continue
            reports[issue_id] = Doc(
                key=issue_id,
                title=row.get("Summary") or "",
                text=row.get("Description") or "",
                created_at=_parse_time(created),
            )
    ordered = sorted(reports.values(), key=lambda d: (d.created_at, _id_order(str(d.key))))
    project = Project(name=folder.name, reports=ordered)
    for path in sorted(folder.glob("*_bugs-combined.csv")):
        for row in _read_csv(path):
            left = (row.get("Issue id") or "").strip()
            for right in (row.get("Duplicate id") or "").replace(";", ",").split(","):
                right = right.strip()
                if left in reports and right in reports and left != right:
                    project.duplicates.setdefault(left, set()).add(right)
                    project.duplicates.setdefault(right, set()).add(left)
    return project


def load(root: Path) -> list[Project]:
    folders = _project_dirs(root)
    if not folders:
        raise ValueError(f"{root}: no GitBugs project (no *_bugs.csv here or one level down)")
    return [load_project(folder) for folder in folders]


def queries(project: Project) -> list[Query]:
    out = []
    for position, report in enumerate(project.reports):
        linked = project.duplicates.get(str(report.key), set())
        earlier = frozenset(str(d.key) for d in project.reports[:position] if d.key in linked)
        if earlier:
            out.append(Query(position, earlier))
    return out


# -- Rankers ----------------------------------------------------------------------------------

# A ranking function: (query report, earlier reports) -> keys of the ranked ones, best first.
RankFunction = Callable[[Doc, Sequence[Doc]], list[str]]


def bm25_ranking(project: Project) -> RankFunction:
    """Plain Okapi BM25 over summary + description, statistics from the whole project."""
    analysed = {d.key: Counter(tokens(joined([d.title, d.text]))) for d in project.reports}
    lengths = {key: sum(c.values()) for key, c in analysed.items()}
    n = len(project.reports)
    avg_len = sum(lengths.values()) / n if n else 1.0
    df: Counter[str] = Counter()
    for counts in analysed.values():
        df.update(counts.keys())
    idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def rank(query: Doc, candidates: Sequence[Doc]) -> list[str]:
        query_terms = analysed[query.key]
        scored = []
        for position, doc in enumerate(candidates):
            counts = analysed[doc.key]
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths[doc.key] / avg_len)
            score = 0.0
            for term in query_terms.keys() & counts.keys():
                tf = counts[term]
                score += query_terms[term] * idf[term] * tf * (BM25_K1 + 1.0) / (tf + norm)
            if score > 0.0:
                scored.append((-score, position, str(doc.key)))
        scored.sort()
        return [key for _score, _position, key in scored]

    return rank


def hashdesk_ranking(project: Project) -> RankFunction:
    """The product's ranker, statistics from the whole project."""
    ranker = Ranker.fit(project.reports)

    def rank(query: Doc, candidates: Sequence[Doc]) -> list[str]:
        return [
            str(doc.key) for doc, _score in rerank(ranker, query, candidates, limit=len(candidates))
        ]

    return rank


RANKERS: dict[str, Callable[[Project], RankFunction]] = {
    "hashdesk": hashdesk_ranking,
    "bm25": bm25_ranking,
}


# -- Metrics ----------------------------------------------------------------------------------


def evaluate(projects: Sequence[Project], make_ranking: Callable[[Project], RankFunction]) -> dict:
    hits = dict.fromkeys(CUTOFFS, 0)
    reciprocal = 0.0
    count = 0
    for project in projects:
        project_queries = queries(project)
        if not project_queries:
            continue
        rank = make_ranking(project)
        for query in project_queries:
            ranked = rank(project.reports[query.position], project.reports[: query.position])
            first = next((i for i, key in enumerate(ranked, 1) if key in query.expected), None)
            count += 1
            if first is None:
                continue
            reciprocal += 1.0 / first
            for cutoff in CUTOFFS:
                if first <= cutoff:
                    hits[cutoff] += 1
    figures: dict = {f"recall@{k}": (hits[k] / count if count else 0.0) for k in CUTOFFS}
    figures["mrr"] = reciprocal / count if count else 0.0
    figures["queries"] = count
    return figures


def evaluate_all(projects: Sequence[Project]) -> dict[str, dict]:
    return {name: evaluate(projects, make) for name, make in RANKERS.items()}


# -- Command ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        metavar="DIR",
        help="a GitBugs project folder (<Name>_bugs.csv, <Name>_bugs-combined.csv) or a folder "
        "of them",
    )


def _rows(label: str, results: dict[str, dict]) -> list[str]:
    return [
        f"{label:<16} {name:<10} {figures['queries']:>7} {figures['recall@1']:>7.3f} "
        f"{figures['recall@5']:>7.3f} {figures['recall@10']:>7.3f} {figures['mrr']:>7.3f}"
        for name, figures in results.items()
    ]


def format_table(results: dict[str, dict], by_project: dict[str, dict[str, dict]]) -> str:
    """All queries together, then each project when there are several."""
    lines = [
        "Finding a report's earlier duplicate among all earlier reports",
        f"{'projects':<16} {'ranker':<10} {'queries':>7} {'R@1':>7} {'R@5':>7} {'R@10':>7} "
        f"{'MRR':>7}",
        *_rows("all" if len(by_project) > 1 else next(iter(by_project)), results),
    ]
    if len(by_project) > 1:
        for name, project_results in by_project.items():
            lines.extend(_rows(name, project_results))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        print(f"{root}: not a folder", file=sys.stderr)
        return 2
    try:
        projects = load(root)
    except (ValueError, OSError, csv.Error) as error:
        print(str(error), file=sys.stderr)
        return 2
    results = evaluate_all(projects)
    if len(projects) > 1:
        by_project = {project.name: evaluate_all([project]) for project in projects}
    else:
        by_project = {projects[0].name: results}
    print(format_table(results, by_project))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0
