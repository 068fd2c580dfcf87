"""`hashdesk eval duplicates`: the harness, on tiny GitBugs-layout folders with known answers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hashdesk.cli import main
from hashdesk.insights.evaluation import duplicates

# id, created, summary, description
REPORTS = [
    (
        1,
        "2024-01-01 10:00:00+00:00",
        "Printer jams on tray two",
        "The office printer jams every morning.",
    ),
    (
        2,
        "2024-01-02 10:00:00+00:00",
        "VPN drops connection every hour",
        "Remote access disconnects.",
    ),
    (3, "2024-01-03 10:00:00+00:00", "Outlook crashes on startup", "Splash screen then gone."),
    (
        4,
        "2024-01-04 10:00:00+00:00",
        "Printer jam in tray 2 again",
        "Paper jams in the printer tray.",
    ),
    (5, "2024-01-05 10:00:00+00:00", "Calendar invites missing", "Meeting requests never arrive."),
    (7, "2024-01-06 10:00:00+00:00", "Wifi slow in building B", "Wifi slow in building B"),
    (6, "2024-01-06 10:00:00+00:00", "Wifi slow in building B", "Wifi slow in building B"),
    (8, "2024-01-07 10:00:00+00:00", "Wifi slow in building B today", "Wifi slow in building B"),
]
# Pairs in either direction, several ids in one cell, ids outside the CSV ignored.
PAIRS = [(4, "1, 99"), (2, "5"), (8, "7"), (1, "4")]


def write_project(folder: Path, name: str = "Demo") -> Path:
    folder.mkdir(parents=True)
    with (folder / f"{name}_bugs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Summary", "Issue id", "Status", "Priority", "Resolution", "Created", "Resolved",
             "Description"]
        )  # fmt: skip
        for issue_id, created, summary, description in REPORTS:
            writer.writerow([summary, issue_id, "NEW", "--", "", created, "", description])
    with (folder / f"{name}_bugs-combined.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Issue id", "Duplicate id"])
        writer.writerows(PAIRS)
    return folder


# Query 4 finds 1 first; query 5 shares no word with 2 (unranked: 0); query 8's duplicate 7 ties
# with 6, same text and time, and 6 comes first by id: rank 2.
EXPECTED = {
    "recall@1": pytest.approx(1 / 3),
    "recall@5": pytest.approx(2 / 3),
    "recall@10": pytest.approx(2 / 3),
    "mrr": pytest.approx((1 + 0 + 1 / 2) / 3),
    "queries": 3,
}


def test_queries_are_reports_with_an_earlier_duplicate(tmp_path):
    project = duplicates.load_project(write_project(tmp_path / "demo"))
    assert [d.key for d in project.reports] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    found = {project.reports[q.position].key: set(q.expected) for q in duplicates.queries(project)}
    assert found == {"4": {"1"}, "5": {"2"}, "8": {"7"}}


@pytest.mark.parametrize("ranker", ["hashdesk", "bm25"])
def test_metrics_are_exact_on_a_known_project(tmp_path, ranker):
    projects = duplicates.load(write_project(tmp_path / "demo"))
    assert duplicates.evaluate(projects, duplicates.RANKERS[ranker]) == EXPECTED


def test_the_command_reads_a_project_or_a_parent_folder_and_writes_json(tmp_path, capsys):
    write_project(tmp_path / "gitbugs" / "demo")
    write_project(tmp_path / "gitbugs" / "other", name="Other")
    out = tmp_path / "dups.json"
    assert main(["eval", "duplicates", str(tmp_path / "gitbugs"), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures) == {"hashdesk", "bm25"}
    assert figures["hashdesk"]["queries"] == 6  # both projects, each ranked on its own reports
    assert figures["bm25"]["mrr"] == pytest.approx(0.5)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("all", "hashdesk", "6"),
        ("all", "bm25", "6"),
        ("demo", "hashdesk", "3"),
        ("demo", "bm25", "3"),
        ("other", "hashdesk", "3"),
        ("other", "bm25", "3"),
    ]
    assert rows[0][3:] == ["0.333", "0.667", "0.667", "0.500"]

    assert main(["eval", "duplicates", str(tmp_path / "gitbugs" / "demo")]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[:3] for row in rows] == [["demo", "hashdesk", "3"], ["demo", "bm25", "3"]]


def test_a_folder_without_reports_is_an_error(tmp_path, capsys):
    assert main(["eval", "duplicates", str(tmp_path)]) == 2
    assert "no GitBugs project" in capsys.readouterr().err
