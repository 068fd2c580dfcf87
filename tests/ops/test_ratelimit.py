"""Rate limits: fixed windows in the shared cache, per bucket and per key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from hashdesk.core import ratelimit
from hashdesk.core.errors import RateLimited

LIMITS = {"sign-in": (3, 60), "api-write": (1, 60)}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The rate limiter's clock, which the test moves by hand (window starts at t=1200)."""
    now = [1_200.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    return now


@override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=True)
def test_requests_over_the_limit_are_refused_until_the_window_ends(
    db: Any, clock: list[float]
) -> None:
    for _ in range(3):
        ratelimit.hit("sign-in", "requester@example.test")
    clock[0] += 20
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("sign-in", "requester@example.test")
    assert refused.value.status == 429
    assert refused.value.retry_after == 40
    assert "40 seconds" in refused.value.detail

    clock[0] += 40  # the next window
    ratelimit.hit("sign-in", "requester@example.test")


@override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=True)
def test_keys_and_buckets_are_counted_separately(db: Any, clock: list[float]) -> None:
    ratelimit.hit("api-write", "token:abc")
    ratelimit.hit("api-write", "token:def")
    ratelimit.hit("sign-in", "token:abc")
    with pytest.raises(RateLimited):
        ratelimit.hit("api-write", "token:abc")


@override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=True)
def test_reset_forgets_the_current_window(db: Any, clock: list[float]) -> None:
    ratelimit.hit("api-write", "10.0.0.8")
    ratelimit.reset("api-write", "10.0.0.8")
    ratelimit.hit("api-write", "10.0.0.8")


@override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=False)
def test_disabled_rate_limits_never_refuse(db: Any, clock: list[float]) -> None:
    for _ in range(10):
        ratelimit.hit("api-write", "10.0.0.9")


@override_settings(RATE_LIMITS=LIMITS, RATE_LIMITS_ENABLED=True)
def test_unknown_bucket_is_a_programming_error(db: Any) -> None:
    with pytest.raises(KeyError, match="no rate limit named 'uploads'"):
        ratelimit.hit("uploads", "10.0.0.9")


@override_settings(
    RATE_LIMITS={"api-read": (2, 60)},
    RATE_LIMITS_ENABLED=True,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_non_database_caches_count_with_add_and_incr(clock: list[float]) -> None:
    ratelimit.hit("api-read", "10.0.0.10")
    ratelimit.hit("api-read", "10.0.0.10")
    with pytest.raises(RateLimited):
        ratelimit.hit("api-read", "10.0.0.10")


COUNTING_PROCESS = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "hashdesk.settings"
django.setup()
from hashdesk.core import ratelimit
for _ in range({hits}):
    ratelimit._increment("rl:test:concurrency", timeout=3600)
"""


def test_database_cache_counts_every_hit_from_concurrent_processes(tmp_path: Any) -> None:
    """Hits from several processes at once are all counted (Django's database cache, which
    increments by get-then-set, lost 259 of 1,200 here): the embedded counters' upsert."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HASHDESK_DATA_DIR": str(tmp_path)}
    env.pop("HASHDESK_DATABASE_URL", None)
    env.pop("HASHDESK_REDIS_URL", None)
    setup = "import django, os\nos.environ['DJANGO_SETTINGS_MODULE'] = 'hashdesk.settings'\n"
    setup += "django.setup()"
    subprocess.run(
        [sys.executable, "-c", f"{setup}\nfrom django.core.management import call_command\n"
         "call_command('migrate', verbosity=0)"],
        env=env, check=True, timeout=300,  # migrating from nothing is slow on a busy machine
    )  # fmt: skip
    # Enough contention that get-then-set would lose hits (measured: 941 of 1,200).
    processes, hits = 4, 150
    workers = [
        subprocess.Popen([sys.executable, "-c", COUNTING_PROCESS.format(hits=hits)], env=env)
        for _ in range(processes)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0] * processes
    result = subprocess.run(
        [sys.executable, "-c", f"{setup}\nfrom hashdesk.core.models import RateCounter\n"
         "print(RateCounter.objects.get(key='rl:test:concurrency').count)"],
        env=env, check=True, timeout=120, capture_output=True, text=True,
    )  # fmt: skip
    assert int(result.stdout.strip()) == processes * hits
