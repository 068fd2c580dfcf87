"""Quoted history, signatures and HTML: what is kept of a mail's body (no database)."""

from __future__ import annotations

from pathlib import Path

from hashdesk.integrations.mail.parsing import MalformedMail, parse_mail
from hashdesk.integrations.mail.text import html_to_text, strip_reply

FIXTURES = Path(__file__).parent / "fixtures"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_gmail_reply_loses_attribution_quote_and_signature() -> None:
    body = parse_mail(_text("reply_gmail.eml").encode()).text
    assert strip_reply(body) == (
        "It happened again at 09:12, right after the update you mentioned.\n"
        "Cable or wifi makes no difference."
    )


def test_outlook_original_message_and_mobile_footer_are_cut() -> None:
    assert strip_reply(_text("reply_outlook.txt")) == (
        "Thanks, that fixed it for me.\n\nKind regards,\nOmar"
    )


def test_outlook_from_sent_block_after_a_rule_is_cut() -> None:
    assert strip_reply(_text("reply_outlook_from_block.txt")) == "Still broken here."


def test_attribution_split_over_two_lines_and_inline_quotes() -> None:
    assert strip_reply(_text("reply_two_line_attribution.txt")) == (
        "Yes, the printer on floor 3.\nAnd the one on floor 4."
    )


def test_signature_of_a_new_mail_is_cut_but_its_words_stay() -> None:
    body = parse_mail(_text("new_vpn.eml").encode()).text
    kept = strip_reply(body)
    assert kept.startswith("Hello desk,")
    assert kept.endswith("Rita")
    assert "+33" not in kept


def test_html_only_mail_becomes_text_without_scripts_styles_or_quotes() -> None:
    mail = parse_mail(_text("html_only.eml").encode())
    assert "alert" not in mail.text and "color" not in mail.text
    assert strip_reply(mail.text) == (
        "The #sso login page loops forever.\n\nSee this (https://example.test/shot)."
    )


def test_html_lists_and_line_breaks() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>a<br>b") == "- one\n\n- two\n\na\nb"


def test_multipart_without_boundary_is_malformed() -> None:
    try:
        parse_mail(_text("malformed.eml").encode())
    except MalformedMail as exc:
        assert "MIME" in str(exc)
    else:
        raise AssertionError("a multipart without boundary was read")


def test_mail_without_from_is_malformed() -> None:
    for raw in (b"Subject: hi\r\n\r\nbody\r\n", b"", b"From: not an address\r\n\r\nx"):
        try:
            parse_mail(raw)
        except MalformedMail:
            continue
        raise AssertionError(f"{raw!r} was read")
