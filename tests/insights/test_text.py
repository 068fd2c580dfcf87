"""The shared analyser: what counts as the same word (hashdesk.insights.text)."""

from __future__ import annotations

import pytest

from hashdesk.insights.text import fold, joined, stem, terms, tokens


def test_tokens_fold_case_and_accents_and_drop_stop_words():
    assert tokens("The VPN is DOWN for me") == ["vpn", "down"]
    assert tokens("Outlook stürzt ab, Grüße") == ["outlook", "sturzt", "ab"]
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("crashes crashing crashed crash", ["crash"] * 4),
        ("file files", ["fil", "fil"]),
        ("issue issues", ["issu", "issu"]),
        ("policies policy", ["policy", "policy"]),
        ("classes class", ["class", "class"]),
        ("status bus", ["status", "bus"]),
    ],
)
def test_tokens_share_a_stem_across_inflections(words, expected):
    assert tokens(words) == expected


def test_a_stem_never_becomes_a_stop_word_or_ends_in_a_separator():
    assert tokens("notes themes") == ["note", "theme"]
    assert tokens("ctrl-s") == ["ctrl-s"]


def test_possessives_and_negations():
    assert tokens("the printer's tray doesn't close, it's jammed") == [
        "printer",
        "tray",
        "clo",
        "jamm",
    ]


def test_compound_tokens_and_versions_stay_whole():
    assert tokens("SeaMonkey 2.53.7.1 on dict.leo.org, x86_64 build") == [
        "seamonkey",
        "2.53.7.1",
        "dict.leo.org",
        "x86_64",
        "build",
    ]
    # Trailing and doubled separators are not part of a word.
    assert tokens("wait...printer -x- _a_ end.") == ["wait", "printer", "end"]


def test_single_characters_are_dropped_but_short_words_kept():
    assert tokens("a b c ab 42") == ["ab", "42"]


def test_analysed_text_analyses_to_itself():
    # The similarity index stores " ".join(tokens(...)); reading it back must give the same terms.
    text = "Releases closing settings, warnings after the browsing speeds; it's the user's notes"
    analysed = tokens(text)
    assert tokens(" ".join(analysed)) == analysed
    assert all(stem(term) == term for term in analysed)


def test_terms_and_joined():
    assert terms("Printer jams, printers jam") == frozenset({"printer", "jam"})
    assert joined(["Summary", None, "", "Body"]) == "Summary\nBody"
