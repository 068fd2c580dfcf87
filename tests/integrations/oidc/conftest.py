"""A real OpenID provider (django-oauth-toolkit, tests/integrations/oidc/provider/) in a second
process, and a browser-like walk through its sign-in and consent pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from django.test import Client

from tests.integrations.oidc.provider.process import PROVIDER_PASSWORD, Provider, running_provider

CALLBACK = "http://testserver/integrations/oidc/callback/"
SIGNED_OUT = "http://testserver/integrations/oidc/signed-out/"
# The people at the provider: (username, email, groups).
PEOPLE = [
    ("dana", "dana.agent@example.test", ["it-agents"]),
    ("casey", "casey@example.test", ["it-agents", "finance"]),
    ("river", "requester@example.test", []),
    ("uma", "vpn.agent@example.test", ["email-unverified"]),
    # The provider gave river's address to someone new.
    ("robin", "requester@example.test", []),
]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    with running_provider(
        redirect_uri=CALLBACK, people=PEOPLE, post_logout_redirect_uri=SIGNED_OUT
    ) as provider:
        yield provider


@pytest.fixture
def single_sign_on(settings: Any, oidc_provider: Provider) -> Provider:
    """Hashdesk configured for the test provider."""
    settings.PUBLIC_URL = "http://testserver"
    for name, value in oidc_provider.hashdesk_settings().items():
        setattr(settings, name, value)
    return oidc_provider


class _Forms(HTMLParser):
    """The inputs of the first form on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._forms += 1
        if tag != "input" or self._forms != 1 or not values.get("name"):
            return
        if values.get("type") == "submit":
            self.buttons[values["name"]] = values.get("value", "")
        else:
            self.fields[values["name"]] = values.get("value", "")


def _form(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


@dataclass
class Browser:
    """One person's browser: Django's test client for Hashdesk, httpx for the provider."""

    hashdesk: Client
    provider: httpx.Client

    def start(self, next_url: str | None = None) -> str:
        """Press "Sign in with …"; return the provider address Hashdesk sends the browser to."""
        query = {"next": next_url} if next_url else {}
        response = self.hashdesk.get("/integrations/oidc/login/", query)
        assert response.status_code == 302, response
        return str(response["Location"])

    def at_provider(self, authorize_url: str, username: str, *, approve: bool = True) -> str:
        """Sign in at the provider and answer its consent page; return the callback address."""
        response = self.provider.get(authorize_url)
        if response.status_code == 302 and "/accounts/login/" in response.headers["location"]:
            login_url = urljoin(authorize_url, response.headers["location"])
            page = self.provider.get(login_url)
            fields = _form(page.text).fields
            fields.update({"username": username, "password": PROVIDER_PASSWORD})
            response = self.provider.post(login_url, data=fields)
            assert response.status_code == 302, response.text[:2000]
            response = self.provider.get(urljoin(login_url, response.headers["location"]))
        assert response.status_code == 200, response.text[:2000]
        consent = _form(response.text)
        data = dict(consent.fields)
        if approve:
            data.update(consent.buttons)
        response = self.provider.post(authorize_url, data=data)
        assert response.status_code == 302, response.text[:2000]
        location = response.headers["location"]
        assert location.startswith(CALLBACK), location
        return location

    def finish(self, callback_url: str) -> Any:
        parts = urlsplit(callback_url)
        return self.hashdesk.get(f"{parts.path}?{parts.query}")

    def sign_in(self, username: str, next_url: str | None = None) -> Any:
        return self.finish(self.at_provider(self.start(next_url), username))


@pytest.fixture
def browser() -> Iterator[Browser]:
    with httpx.Client(follow_redirects=False, timeout=30) as provider:
        yield Browser(hashdesk=Client(), provider=provider)
