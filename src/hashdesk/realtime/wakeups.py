"""Receiving the wake-ups that hashdesk.realtime.publish sends after each commit.

A wake-up carries at most an event id and is only a hint to read the log now rather than at the
next poll, so anything arriving here is safe to act on: a forged datagram costs one query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hashdesk.realtime.publish import parse_wake_payload

logger = logging.getLogger(__name__)

WakeCallback = Callable[[int | None], None]

REDIS_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


class _DatagramWakeups(asyncio.DatagramProtocol):
    def __init__(self, on_wake: WakeCallback) -> None:
        self.on_wake = on_wake

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.on_wake(parse_wake_payload(data[:32]))

    def error_received(self, exc: Exception) -> None:
        logger.debug("wake-up socket error: %s", exc)


async def listen_udp(host: str, port: int, on_wake: WakeCallback) -> asyncio.DatagramTransport:
    """Bind the embedded-mode wake-up port; the caller closes the returned transport."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _DatagramWakeups(on_wake), local_addr=(host, port)
    )
    return transport


async def listen_redis(
    url: str, channel: str, on_wake: WakeCallback, subscribed: asyncio.Event
) -> None:
    """Follow ``channel`` until cancelled, reconnecting with back-off when Redis goes away.

    ``subscribed`` is set each time the subscription is (re)established. After a reconnect the
    callback is called with None: messages published while we were away are lost, so the log
    is read at once instead of waiting for the poll.
    """
    await follow_redis_channel(
        url,
        channel,
        lambda data: on_wake(parse_wake_payload(data)),
        subscribed,
        on_subscribed=lambda: on_wake(None),
    )


async def follow_redis_channel(
    url: str,
    channel: str,
    on_message: Callable[[bytes], None],
    subscribed: asyncio.Event,
    *,
    on_subscribed: Callable[[], None] | None = None,
) -> None:
    """Call ``on_message`` with each message's data on ``channel`` until cancelled, reconnecting
    with back-off when Redis goes away (shared by the event wake-ups and the ephemeral relay)."""
    import redis.asyncio as aioredis

    failures = 0
    while True:
        raise_if_cancelling()
        # Health checks make a silently dead connection (no RST) fail instead of hang.
        client: Any = aioredis.Redis.from_url(url, health_check_interval=15)
        pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            if failures:
                logger.info("Redis channel %s restored", channel)
            failures = 0
            subscribed.set()
            if on_subscribed is not None:
                on_subscribed()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    on_message(message.get("data") or b"")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelling(exc)
            subscribed.clear()
            delay = REDIS_RETRY_SECONDS[min(failures, len(REDIS_RETRY_SECONDS) - 1)]
            failures += 1
            logger.warning("lost the Redis channel %s (%s); retrying in %.1fs", channel, exc, delay)
            await asyncio.sleep(delay)
        finally:
            await pubsub.aclose()
            await client.aclose()


def raise_if_cancelling(error: BaseException | None = None) -> None:
    """The Redis client can swallow the cancellation of a task waiting on it, or turn it into
    an ordinary error; a loop that goes on after errors would then never stop (the server's
    shutdown would wait for it forever). Loops call this after an error and before each round:
    when the current task is being cancelled, it is cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
