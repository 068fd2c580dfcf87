"""The stylesheet's colour tokens meet WCAG AA contrast in both themes, and the two copies of
the dark theme (system preference, explicit choice) stay identical."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hashdesk.web

CSS = Path(hashdesk.web.__file__).parent / "static" / "web" / "hashdesk.css"

# (foreground, background, minimum ratio): text pairs need 4.5, large/bold UI parts 3.
PAIRS = [
    ("text", "bg", 4.5),
    ("text", "surface", 4.5),
    ("text", "surface-2", 4.5),
    ("text-muted", "bg", 4.5),
    ("text-muted", "surface", 4.5),
    ("text-muted", "surface-2", 4.5),
    ("accent", "surface", 4.5),
    ("accent", "bg", 4.5),
    ("accent-strong", "accent-soft", 4.5),
    ("accent-strong", "surface", 4.5),
    ("on-accent", "accent", 4.5),
    ("on-accent", "accent-strong", 4.5),
    ("danger", "surface", 4.5),
    ("danger", "danger-soft", 4.5),
    ("surface", "danger", 4.5),
    ("success", "success-soft", 4.5),
    ("success", "surface", 4.5),
    ("warning", "warning-soft", 4.5),
    ("text", "warning-soft", 4.5),
    ("text", "accent-soft", 4.5),
    ("crit-low", "surface-2", 4.5),
    ("crit-medium", "surface", 4.5),
    ("crit-high", "surface", 4.5),
    ("surface", "crit-critical", 4.5),
    ("focus", "surface", 3.0),
    ("focus", "bg", 3.0),
    ("border-strong", "surface", 3.0),
]


def _block(css: str, selector: str) -> str:
    start = css.index(selector + " {")
    return css[start : css.index("}", start)]


def _tokens(block: str) -> dict[str, str]:
    return dict(re.findall(r"--color-([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})", block))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


CSS_TEXT = CSS.read_text()
LIGHT = _tokens(_block(CSS_TEXT, ":root"))
DARK = _tokens(_block(CSS_TEXT, ':root[data-theme="dark"]'))


def test_the_dark_theme_is_the_same_for_the_system_preference_and_the_toggle() -> None:
    system_dark = _tokens(_block(CSS_TEXT, ':root:not([data-theme="light"])'))
    assert system_dark == DARK
    assert set(DARK) == set(LIGHT)


@pytest.mark.parametrize(("theme", "tokens"), [("light", LIGHT), ("dark", DARK)])
@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_colour_pairs_meet_aa_contrast(
    theme: str, tokens: dict[str, str], foreground: str, background: str, minimum: float
) -> None:
    ratio = contrast(tokens[foreground], tokens[background])
    assert ratio >= minimum, f"{theme}: {foreground} on {background} is {ratio:.2f}:1"


def test_the_contrast_formula() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48
