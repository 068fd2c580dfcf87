"""Browser tests: Debian's Chromium driven by Playwright against a real server.

The Django app runs in a live-server thread and the real event server in another (both on free
loopback ports, on the file-based SQLite test database), so pages, static files, the CSP, the
session cookie and the WebSocket are exactly what a person's browser gets.

Without /usr/bin/chromium the tests are skipped, unless ``HASHDESK_TEST_BROWSER=1`` requires
them (CI), where a missing browser fails them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test.utils import override_settings

from hashdesk.accounts.models import User
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("HASHDESK_TEST_BROWSER") == "1":
            pytest.fail(f"browser tests are required (HASHDESK_TEST_BROWSER=1) but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on this thread, which Django's
    # async-safety check mistakes for async code; the ORM calls here are plain synchronous
    # test code. Allowed for these tests only, and restored after them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Site:
    """The running Hashdesk: web server URL and event server."""

    url: str
    events: Any


@pytest.fixture(scope="package")
def site(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Site]:
    from pytest_django.live_server_helper import LiveServer

    from tests.realtime.live import RunningEventServer

    with django_db_blocker.unblock():
        web = LiveServer("127.0.0.1")
        # Poll often too, so a lost wake-up never makes a test wait long.
        events = RunningEventServer(poll_seconds=0.5).start()
    assert events.address is not None
    overrides = override_settings(
        EVENTS_PUBLIC_URL=f"ws://127.0.0.1:{events.address.port}/ws/",
        EVENT_ALLOWED_ORIGINS=[web.url],
        EVENT_NOTIFY_PORT=events.address.notify_port,
        PUBLIC_URL=web.url,
    )
    overrides.enable()
    try:
        yield Site(url=web.url, events=events)
    finally:
        overrides.disable()
        events.stop()
        web.stop()


@dataclass
class Tab:
    """One Playwright page, with what its console and scripts reported."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        return response

    def sign_in(self, person: User, password: str = PASSWORD) -> None:
        self.open("/accounts/sign-in/")
        self.page.get_by_label("Email address").fill(person.email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.base_url + "/")

    def wait_until_live(self) -> None:
        self.page.wait_for_selector('[data-live-status="live"]', state="attached", timeout=10_000)

    def no_horizontal_scroll(self) -> bool:
        return bool(
            self.page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"
                " && document.body.scrollWidth <= window.innerWidth"
            )
        )


@pytest.fixture
def open_tab(site: Site, chromium: Any, transactional_db: Any) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def make(**context_options: Any) -> Tab:
        context = chromium.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        tab = Tab(page=page, base_url=site.url)
        page.on(
            "console",
            lambda message: (
                tab.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: tab.console_errors.append(str(error)))
        return tab

    yield make
    for context in contexts:
        context.close()
