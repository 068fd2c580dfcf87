"""Waking the event servers after a commit.

The event log (``core.models.Event``) is the source of truth; a wake-up only says "there is
something new after id N, come and read it". That makes the wake-up cheap to lose: an event server
also polls on a timer, so a lost datagram or a Redis hiccup delays delivery by at most one poll
interval and never drops an event.

- With ``HASHDESK_REDIS_URL``: ``PUBLISH <prefix>:events <id>``; every event server in the
  installation subscribes to that channel.
- Embedded default: one UDP datagram to ``127.0.0.1:HASHDESK_EVENT_NOTIFY_PORT``, where the single
  local event server listens. Sending a datagram never blocks, and nobody listening is not an error.

``wake_event_servers`` runs in ``transaction.on_commit`` of web requests and tasks, so it must
never raise and never stall the request: failures are logged and, for Redis, the publisher backs
off for a few seconds instead of paying a connection timeout on every commit.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

# How long the publisher leaves Redis alone after a failed PUBLISH (the poll covers the gap).
REDIS_BACKOFF_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.25


def events_channel() -> str:
    """The Redis pub/sub channel event servers subscribe to."""
    return f"{settings.REDIS_PREFIX}:events"


def wake_payload(event_id: int) -> bytes:
    return str(event_id).encode("ascii")


def parse_wake_payload(data: bytes | str) -> int | None:
    """The event id a wake-up announces, or None for anything else (still a reason to look)."""
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if not text.isdigit() or len(text) > 19:
        return None
    return int(text)


class _Publisher:
    """Per-process connections for waking event servers, created on first use.

    A forked worker gets a fresh UDP socket and Redis client because both are keyed by pid.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._udp: socket.socket | None = None
        self._redis: Any = None
        self._redis_url = ""
        # Per Redis URL: until when publishing is skipped after a failure.
        self._redis_paused_until: dict[str, float] = {}

    def _reset_after_fork(self) -> None:
        pid = os.getpid()
        if pid != self._pid:
            self._pid = pid
            self._udp = None
            self._redis = None

    def udp_socket(self) -> socket.socket:
        with self._lock:
            self._reset_after_fork()
            if self._udp is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                self._udp = sock
            return self._udp

    def redis_client(self, url: str) -> Any:
        with self._lock:
            self._reset_after_fork()
            if self._redis is None or self._redis_url != url:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                self._redis = redis.Redis.from_url(
                    url,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                    # One immediate retry replaces a pooled connection that Redis closed; more
                    # would only make the committing request wait for a hint.
                    retry=Retry(NoBackoff(), 1),
                )
                self._redis_url = url
            return self._redis

    def publish_redis(self, url: str, event_id: int) -> None:
        now = time.monotonic()
        if now < self._redis_paused_until.get(url, 0.0):
            return
        try:
            self.redis_client(url).publish(events_channel(), wake_payload(event_id))
        except Exception as exc:
            self._redis_paused_until[url] = now + REDIS_BACKOFF_SECONDS
            logger.warning("could not publish event %s to Redis: %s", event_id, exc)

    def send_datagram(self, event_id: int) -> None:
        try:
            self.udp_socket().sendto(
                wake_payload(event_id), ("127.0.0.1", settings.EVENT_NOTIFY_PORT)
            )
        except OSError as exc:
            # A full socket buffer or nobody listening (ICMP port unreachable) are both fine:
            # the event server's poll will find the event.
            logger.debug("could not send event %s wake-up datagram: %s", event_id, exc)


_publisher = _Publisher()


def wake_event_servers(event_id: int) -> None:
    """Tell every event server that event ``event_id`` is committed. Never raises."""
    try:
        if settings.REDIS_URL:
            _publisher.publish_redis(settings.REDIS_URL, event_id)
        else:
            _publisher.send_datagram(event_id)
    except Exception:
        logger.exception("waking the event servers failed for event %s", event_id)
