"""Fixtures for the web page tests: signed-in browsers (Django test clients) by role."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import User


@pytest.fixture
def browser_for(db: Any) -> Callable[[User], Client]:
    """A test client signed in as the given person (through a real session)."""

    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


class ShellHtml(HTMLParser):
    """Collects what the CSP and the shell's rules care about from a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.handler_attributes: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self._in_form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        for name, _value in attrs:
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("on"):
                self.handler_attributes.append(f"{tag}[{name}]")
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "form":
            self._in_form = {"method": (attributes.get("method") or "get").lower(), "csrf": False}
            self.forms.append(self._in_form)
        if (
            tag == "input"
            and self._in_form is not None
            and attributes.get("name") == "csrfmiddlewaretoken"
        ):
            self._in_form["csrf"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = None


def parse_page(html: str) -> ShellHtml:
    parser = ShellHtml()
    parser.feed(html)
    return parser


def assert_shell_rules(html: str) -> None:
    """No inline script or style (the CSP forbids them), CSRF on every POST form, unique ids."""
    page = parse_page(html)
    assert page.inline_scripts == 0
    assert page.style_elements == 0
    assert page.style_attributes == []
    assert page.handler_attributes == []
    assert all(form["csrf"] for form in page.forms if form["method"] == "post")
    assert len(page.ids) == len(set(page.ids)), "duplicate element ids"
