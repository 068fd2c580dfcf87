"""`hashdesk eval routing`: the harness on a tiny ticket file the test writes itself."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from hashdesk.cli import build_parser
from hashdesk.insights.evaluation import routing as evaluation
from hashdesk.insights.routing import split_indices

VOCABULARY = {
    "GRP_NET": ["vpn tunnel drops", "wifi access point offline", "router port flapping"],
    "GRP_SAP": ["sap invoice posting fails", "erp purchase order blocked", "sap report empty"],
    "GRP_MAIL": ["outlook mailbox full", "calendar invite missing", "shared mailbox access"],
}


def write_tickets(path: Path, per_group: int = 10) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(evaluation.COLUMNS)
        for group, phrases in VOCABULARY.items():
            for n in range(per_group):
                phrase = phrases[n % len(phrases)]
                writer.writerow(
                    [phrase, f"{phrase} since morning, ticket {n}", f"caller{n}", group]
                )
    return path


def test_the_split_is_fixed_and_stratified() -> None:
    labels = ["a"] * 10 + ["b"] * 5 + ["c"]

    train, test = split_indices(labels)

    assert split_indices(labels) == (train, test)
    assert sorted(train + test) == list(range(16))
    assert [labels[i] for i in test].count("a") == 2
    assert [labels[i] for i in test].count("b") == 1
    assert "c" not in [labels[i] for i in test]  # a group seen once stays in training


def test_a_separable_set_is_routed_perfectly(tmp_path: Path) -> None:
    tickets = evaluation.read_tickets(write_tickets(tmp_path / "tickets.csv"))

    results = evaluation.evaluate(tickets)

    assert results["hashdesk"]["accuracy"] == 1.0
    assert results["hashdesk"]["macro_f1"] == 1.0
    # Equal groups: the majority is right on one group of three, 2 of 6 tested tickets.
    assert results["majority"]["accuracy"] == pytest.approx(2 / 6)
    assert results["majority"]["macro_f1"] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert results["tfidf_linear"]["accuracy"] == 1.0


def test_the_command_prints_a_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_tickets(tmp_path / "tickets.csv")
    target = tmp_path / "routing.json"
    args = build_parser().parse_args(["eval", "routing", str(source), "--json", str(target)])

    assert args.handler(args) == 0

    printed = capsys.readouterr().out
    assert "hashdesk" in printed and "majority" in printed and "tfidf_linear" in printed
    figures = json.loads(target.read_text())
    assert set(figures) == {"hashdesk", "majority", "tfidf_linear"}
    assert figures["hashdesk"] == {"accuracy": 1.0, "macro_f1": 1.0}


def test_a_file_without_the_columns_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("title,team\nvpn,net\n", encoding="utf-8")

    assert evaluation.run(argparse.Namespace(path=str(bad), json=None)) == 2
    assert "Assignment group" in capsys.readouterr().err
