"""Fixed-window rate limits shared by every process through Django's cache.

The cache is the database cache in the embedded mode and Redis when configured
(``settings.CACHES``), so a limit holds across all web workers, not per process. Each bucket
is ``settings.RATE_LIMITS[bucket] = (limit, window_seconds)``.
"""

from __future__ import annotations

import hashlib
import time
import zlib

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import connections, router, transaction

from hashdesk.core.errors import RateLimited

# First half of the PostgreSQL advisory lock key (the second is the counter's hash).
_RATE_LIMIT_LOCK = 0x4A5D_0A7E


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

    Redis: ``add`` (SET NX) then ``incr`` (INCRBY) are atomic server-side. Django's database
    cache implements ``incr`` as get-then-set, which loses hits under concurrency, so there
    the read and write happen in one transaction that holds the write lock: SQLite's
    IMMEDIATE transactions take it at BEGIN; on PostgreSQL an advisory lock per key does.
    """
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, BaseDatabaseCache):
        alias = router.db_for_write(cache.cache_model_class)
        with transaction.atomic(using=alias):
            connection = connections[alias]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)",
                        [_RATE_LIMIT_LOCK, zlib.crc32(cache_key.encode()) - 2**31],
                    )
            count = int(cache.get(cache_key, 0)) + 1
            cache.set(cache_key, count, timeout=timeout)
            return count
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:
        # Expired between add and incr: this hit starts the window again.
        cache.add(cache_key, 1, timeout=timeout)
        return 1


def reset(bucket: str, key: str) -> None:
    """Forget the current window's count (e.g. after a successful sign-in)."""
    _limit, window = _window(bucket)
    window_start = int(_now() // window) * window
    caches[DEFAULT_CACHE_ALIAS].delete(_cache_key(bucket, key, window_start))
