"""``hashdesk eval routing FILE``: assignment-group suggestion on a ticket CSV.

The CSV has the columns ``Short description, Description, Caller, Assignment group`` (one
ticket a row). The harness splits it once, stratified where possible (per group, 20 % of its
tickets, rounded, go to the test part, chosen by a shuffle seeded with 7; a group seen once
stays in training), fits every method on the same 80 % and reports accuracy and macro-F1 on
the same 20 %:

- ``majority``: always the most frequent group of the training part;
- ``tfidf_linear``: TF-IDF of word unigrams (scikit-learn's defaults) and a logistic
  regression;
- ``hashdesk``: the product's own model (``insights.routing.RoutingClassifier``), with the
  caller as a tag as the product uses the reporter.

No database and no Django: it reads the file only.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hashdesk.insights.routing import RoutingClassifier, macro_scores, person_tag, split_indices

COLUMNS = ("Short description", "Description", "Caller", "Assignment group")
METHODS = ("majority", "tfidf_linear", "hashdesk")


@dataclass(frozen=True)
class Ticket:
    text: str
    caller: str
    group: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="FILE", help="ticket CSV (it_tickets layout)")


def read_tickets(path: Path) -> list[Ticket]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}.")
        tickets = []
        for row in reader:
            group = (row["Assignment group"] or "").strip()
            if not group:
                continue
            text = "\n".join(p for p in (row["Short description"], row["Description"]) if p)
            tickets.append(Ticket(text=text, caller=(row["Caller"] or "").strip(), group=group))
    return tickets


def _majority(train: Sequence[Ticket], test: Sequence[Ticket]) -> list[str]:
    most = Counter(t.group for t in train).most_common(1)[0][0]
    return [most] * len(test)


def _tfidf_linear(train: Sequence[Ticket], test: Sequence[Ticket]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer()
    features = vectorizer.fit_transform([t.text for t in train])
    model = LogisticRegression(max_iter=1000).fit(features, [t.group for t in train])
    return [str(p) for p in model.predict(vectorizer.transform([t.text for t in test]))]


def _hashdesk(train: Sequence[Ticket], test: Sequence[Ticket]) -> list[str]:
    model = RoutingClassifier().fit(
        [t.text for t in train],
        [t.group for t in train],
        [[person_tag(t.caller)] for t in train],
        calibrate=False,
    )
    return model.predict([t.text for t in test], [[person_tag(t.caller)] for t in test])


_RUNNERS = {"majority": _majority, "tfidf_linear": _tfidf_linear, "hashdesk": _hashdesk}


def evaluate(tickets: Sequence[Ticket]) -> dict[str, dict[str, float]]:
    """Every method's accuracy and macro-F1 on the fixed split of ``tickets``."""
    train_rows, test_rows = split_indices([t.group for t in tickets])
    if not train_rows or not test_rows:
        raise ValueError("Too few tickets to split (each group needs two to be tested).")
    train = [tickets[i] for i in train_rows]
    test = [tickets[i] for i in test_rows]
    truth = [t.group for t in test]
    results: dict[str, dict[str, float]] = {}
    for name in METHODS:
        started = time.perf_counter()
        results[name] = macro_scores(truth, _RUNNERS[name](train, test))
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
    return results


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        tickets = read_tickets(path)
        results = evaluate(tickets)
    except (OSError, ValueError) as exc:
        print(f"hashdesk eval routing: {exc}", file=sys.stderr)
        return 2
    groups = len({t.group for t in tickets})
    train_rows, test_rows = split_indices([t.group for t in tickets])
    print(
        f"{len(tickets)} tickets, {groups} assignment groups; fixed stratified split "
        f"(seed 7): {len(train_rows)} to train, {len(test_rows)} to test"
    )
    print(f"{'method':<14}{'accuracy':>10}{'macro-F1':>10}{'seconds':>10}")
    for name in METHODS:
        r = results[name]
        print(f"{name:<14}{r['accuracy']:>10.4f}{r['macro_f1']:>10.4f}{r['seconds']:>10.1f}")
    if getattr(args, "json", None):
        figures = {
            name: {"accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4)}
            for name, r in sorted(results.items(), key=lambda item: item[0] != "hashdesk")
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0
