"""Shared fixtures: people named by their role, and a small catalogue.

Each fixture builds only what it names, through the same actions the product uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import settings as hypothesis_settings

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import Team, User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.models import Event
from tests.servers import closed_smtp_port, eager_tasks, smtp_server  # noqa: F401 (fixtures)

PASSWORD = "correct-horse-battery-staple"

# Property tests explore new examples on a developer's machine; CI (HASHDESK_TEST_BROWSER=1,
# set by .ci/run) replays the same examples every run, so main never turns red by chance.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("HASHDESK_TEST_BROWSER") == "1":
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def make_person(db: Any) -> Callable[..., User]:
    def make(email: str, *, roles: list[str] | None = None, **fields: Any) -> User:
        fields.setdefault("display_name", email.split("@")[0].replace(".", " ").title())
        fields.setdefault("password", PASSWORD)
        return account_actions.do_create_user(None, email=email, roles=roles, **fields)

    return make


@pytest.fixture
def requester(make_person: Callable[..., User]) -> User:
    return make_person("requester@example.test", roles=[Role.REQUESTER], department="Finance")


@pytest.fixture
def other_requester(make_person: Callable[..., User]) -> User:
    return make_person("colleague@example.test", roles=[Role.REQUESTER], department="Sales")


@pytest.fixture
def vpn_agent(make_person: Callable[..., User]) -> User:
    return make_person("vpn.agent@example.test", roles=[Role.AGENT])


@pytest.fixture
def problem_manager(make_person: Callable[..., User]) -> User:
    return make_person("problem.manager@example.test", roles=[Role.PROBLEM_MANAGER])


@pytest.fixture
def change_manager(make_person: Callable[..., User]) -> User:
    return make_person("change.manager@example.test", roles=[Role.CHANGE_MANAGER])


@pytest.fixture
def administrator(make_person: Callable[..., User]) -> User:
    return make_person("admin@example.test", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def network_team(db: Any, vpn_agent: User) -> Team:
    team = account_actions.do_create_team(None, name="Network")
    account_actions.do_add_team_member(None, team, vpn_agent)
    return team


@pytest.fixture
def vpn_service(db: Any, network_team: Team) -> Service:
    return catalog_actions.do_create_service(
        None,
        name="VPN",
        hashtag="vpn",
        owner_team=network_team,
        visibility=Visibility.PUBLIC,
        criticality="high",
    )


@pytest.fixture
def sso_service(db: Any) -> Service:
    return catalog_actions.do_create_service(
        None,
        name="Single sign-on",
        hashtag="sso",
        visibility=Visibility.PUBLIC,
        criticality="critical",
    )


@pytest.fixture
def security_service(db: Any) -> Service:
    """A confidential service: only service desk staff may know it exists."""
    return catalog_actions.do_create_service(
        None, name="Security operations", hashtag="secops", visibility=Visibility.CONFIDENTIAL
    )


@pytest.fixture
def capture_events(db: Any) -> Callable[[], Any]:
    """``with capture_events() as events:`` collects the Event rows written inside the block."""

    @contextmanager
    def capture() -> Iterator[list[Event]]:
        last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        events: list[Event] = []
        yield events
        events.extend(Event.objects.filter(id__gt=last).order_by("id"))

    return capture


@pytest.fixture
def query_count() -> Callable[[], Any]:
    """``with query_count() as ctx: ...; len(ctx)`` counts database queries in the block."""

    def counter() -> CaptureQueriesContext:
        return CaptureQueriesContext(connection)

    return counter


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 costs ~0.15 s per password by design; tests create many people, so they hash
    with a fast algorithm. `test_passwords_are_hashed_with_argon2` pins the real setting."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def _fresh_similarity_statistics() -> None:
    """The similarity index keeps corpus statistics in the process for five minutes
    (insights.similar.STATS_TTL); a test must rank against its own corpus, not the one an
    earlier test left (on PostgreSQL the document frequencies come from that cached sample)."""
    from hashdesk.insights import similar

    similar.forget_statistics()


@pytest.fixture(autouse=True)
def _forget_shared_cache() -> Iterator[None]:
    """Rate-limit counters and other cache entries must not leak from one test into the next.

    The database cache rolls back with each test's transaction; Redis does not, so this test
    run's keys (under its own prefix) are removed around every test. FLUSHDB is never used: the
    Redis server may hold other data.
    """
    from django.conf import settings
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    def forget() -> None:
        cache = caches["default"]
        if isinstance(cache, RedisCache):
            prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
            client = cache._cache.get_client(None, write=True)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)

    forget()
    yield
    forget()
