"""Slack's mrkdwn and message shapes, read as Slack reads them (no database)."""

from __future__ import annotations

import json

import pytest

from hashdesk.core.markup import render_markdown
from hashdesk.integrations.slack.mrkdwn import to_markdown
from hashdesk.integrations.slack.payload import HookRefused, read_message


@pytest.mark.parametrize(
    ("mrkdwn", "html_parts"),
    [
        (
            "*VPN* is _slow_ ~again~",
            ["<strong>VPN</strong>", "<em>slow</em>", "<s>again</s>"],
        ),
        (
            "See <https://status.example.org/vpn?a=1&amp;b=2|the status page>",
            ['<a href="https://status.example.org/vpn?a=1&amp;b=2"', ">the status page</a>"],
        ),
        ("<!here> <@U024BE7LH|ana> <@U42> in <#C1|network>", ["@here @ana @U42 in #network"]),
        (
            "`*kept*` then ```*as is* <x>``` done",
            ["<code>*kept*</code>", "<pre><code>*as is* &lt;x&gt;"],
        ),
        ("snake_case 2*3*4 # not a heading", ["snake_case 2*3*4 # not a heading"]),
    ],
)
def test_mrkdwn_becomes_the_projects_markdown(mrkdwn: str, html_parts: list[str]) -> None:
    html = render_markdown(to_markdown(mrkdwn))
    for part in html_parts:
        assert part in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<javascript:alert(1)|click me>",
        "&lt;script&gt;alert(1)&lt;/script&gt; click me",
        '<https://evil.example/"onmouseover=alert(1)|click me>',
    ],
)
def test_hostile_text_never_becomes_markup(hostile: str) -> None:
    html = render_markdown(to_markdown(hostile))
    assert "click me" in html
    assert "<script" not in html and "javascript:" not in html
    assert " onmouseover" not in html and '"onmouseover' not in html


def test_plain_text_when_mrkdwn_is_off() -> None:
    message = read_message(
        "application/json", json.dumps({"text": "*a*_b_", "mrkdwn": False}).encode()
    )
    assert render_markdown(message.text) == "<p>*a*_b_</p>\n"


def test_text_falls_back_to_blocks_then_attachments_and_blocks_never_fail() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deploy"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*api* v2 is out"}},
        {"type": "image", "image_url": "https://example.org/x.png"},
        "not a block",
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "by ci"}, 7]},
    ]
    body = json.dumps({"blocks": blocks}).encode()
    assert read_message("application/json", body).text == "**Deploy**\n\n**api** v2 is out\n\nby ci"
    attachments = [{"fallback": "[FIRING:1] VPN down", "text": "details"}]
    body = json.dumps({"attachments": attachments, "blocks": {"bad": "shape"}}).encode()
    assert read_message("application/json", body).text == "[FIRING:1] VPN down"


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", b"{not json", "invalid_payload"),
        ("application/json", b'["a list"]', "invalid_payload"),
        ("application/json", b'{"text": 42}', "invalid_payload"),
        ("application/x-www-form-urlencoded", b"text=hello", "invalid_payload"),
        ("application/json", b'{"text": "   "}', "no_text"),
        ("application/json", b'{"blocks": [{"type": "divider"}]}', "no_text"),
    ],
)
def test_bad_payloads_get_slacks_codes(content_type: str, body: bytes, code: str) -> None:
    with pytest.raises(HookRefused) as refused:
        read_message(content_type, body)
    assert (refused.value.status, refused.value.code) == (400, code)
