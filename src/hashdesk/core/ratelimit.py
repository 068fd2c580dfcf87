"""Fixed-window rate limits shared by every process.

With Redis (``settings.CACHES``) the counters live in the cache; in the embedded mode, whose
cache is the database, in their own table (``core.models.RateCounter``), where one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement counts a hit — the database cache's
read-then-write would take a transaction, a lock and half a dozen statements for every post and
chat message. Either way a limit holds across all processes, not per process. Each bucket is
``settings.RATE_LIMITS[bucket] = (limit, window_seconds)``.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import connections, router
from django.utils import timezone

from hashdesk.core.errors import RateLimited
from hashdesk.core.models import RateCounter


def _now() -> float:
    """Wall-clock seconds; windows are aligned to it so every process agrees on them."""
    return time.time()


def _cache_key(bucket: str, key: str, window_start: int) -> str:
    # Hash the caller's key: it may be an email address or IP and must not reach Redis or the
    # cache table in clear, nor break the cache's key rules with spaces or odd characters.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"rl:{bucket}:{window_start}:{digest}"


def _window(bucket: str) -> tuple[int, int]:
    try:
        limit, window = settings.RATE_LIMITS[bucket]
    except KeyError:
        raise KeyError(f"no rate limit named {bucket!r} in settings.RATE_LIMITS") from None
    return int(limit), int(window)


def hit(bucket: str, key: str) -> None:
    """Count one request by ``key`` against ``bucket``; raise RateLimited when over the limit.

    Call it before the action's transaction: on the database cache the counter is written on
    the caller's connection, and a rolled-back transaction would forget the hit.
    """
    if not settings.RATE_LIMITS_ENABLED:
        return
    limit, window = _window(bucket)
    now = _now()
    window_start = int(now // window) * window
    # Keep the counter a little past its window so a late increment never restarts it at 1.
    count = _increment(_cache_key(bucket, key, window_start), timeout=window + 5)
    if count > limit:
        retry_after = max(1, int(window_start + window - now + 0.999))
        raise RateLimited(
            f"Too many requests; try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


def _increment(cache_key: str, *, timeout: int) -> int:
    """Add one to the counter and return the new value, atomically across processes.

    Embedded (database cache): one upsert on the counters' table, atomic by itself (SQLite
    takes its write lock for the statement, PostgreSQL the row's lock). Redis: ``add`` (SET NX)
    then ``incr`` (INCRBY), atomic server-side.
    """
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, BaseDatabaseCache):
        return _count_in_database(cache_key, timeout=timeout)
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:
        # Expired between add and incr: this hit starts the window again.
        cache.add(cache_key, 1, timeout=timeout)
        return 1


def _count_in_database(cache_key: str, *, timeout: int) -> int:
    alias = router.db_for_write(RateCounter)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    expires = connection.ops.adapt_datetimefield_value(timezone.now() + timedelta(seconds=timeout))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('key')}, {quote('count')}, {quote('expires_at')}) "  # noqa: S608 (names quoted by the backend)
            f"VALUES (%s, 1, %s) ON CONFLICT ({quote('key')}) "
            f"DO UPDATE SET {quote('count')} = {table}.{quote('count')} + 1 "
            f"RETURNING {quote('count')}",
            [cache_key, expires],
        )
        (count,) = cursor.fetchone()
    return int(count)


def prune_expired(now: datetime | None = None) -> int:
    """Delete the counters of windows that are over (the worker runs it hourly)."""
    removed, _ = RateCounter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return removed


def reset(bucket: str, key: str) -> None:
    """Forget the current window's count (e.g. after a successful sign-in)."""
    _limit, window = _window(bucket)
    window_start = int(_now() // window) * window
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, BaseDatabaseCache):
        RateCounter.objects.filter(key=_cache_key(bucket, key, window_start)).delete()
    else:
        cache.delete(_cache_key(bucket, key, window_start))
