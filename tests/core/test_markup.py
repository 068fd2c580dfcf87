"""User-written markdown is rendered, then sanitised: scripts and raw HTML never survive."""

from __future__ import annotations

import re

import pytest

from hashdesk.core.markup import render_markdown


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://ok.test" onclick="steal()">x</a>',
        "<iframe src='https://evil.test'></iframe>",
        "<div style='position:fixed'>overlay</div>",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(text):
    html = render_markdown(text)
    assert "<script" not in html
    assert "<img" not in html
    assert "<iframe" not in html
    assert "<div" not in html
    # No real tag carries an event handler attribute (escaped text may mention one).
    assert not re.search(r"<[a-z][^>]*\son\w+=", html)
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_dropped(link):
    html = render_markdown(link)
    assert "href" not in html


def test_normal_markdown_is_kept_and_links_are_safe():
    html = render_markdown(
        "# Outage\n\n**VPN** is *down*, ~~maybe~~ see [status](https://status.example.test)"
        " or [mail us](mailto:desk@example.test).\n\n- one\n- two\n\n`code`\n\n"
        "| site | users |\n|:--|--:|\n| Paris | 12 |\n"
    )
    assert "<h1>Outage</h1>" in html
    assert "<strong>VPN</strong>" in html and "<em>down</em>" in html
    assert "<s>maybe</s>" in html
    assert (
        '<a href="https://status.example.test" rel="nofollow noopener noreferrer">status</a>'
        in html
    )
    assert 'href="mailto:desk@example.test"' in html
    assert "<li>one</li>" in html and "<code>code</code>" in html
    assert "<table>" in html and '<td style="text-align:right">12</td>' in html


def test_blank_text_renders_to_nothing():
    assert render_markdown("") == ""
    assert render_markdown("   \n ") == ""
