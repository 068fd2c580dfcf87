"""Benchmark: 500 people chatting over the event server; message round trip, exactly-once delivery.

Issue 5: "500 concurrent chatters in rooms of 10-50, each sending a message every few seconds:
message round trip p50/p99 (target p99 under 150 ms on one node) and the same on two [serving
nodes] sharing Redis; no message lost or duplicated across a forced reconnect of every client."

Each part runs in its own process:

- **prepare** (``--role prepare``): migrations, 500 requesters with write API tokens (bulk rows,
  secrets from ``accounts.tokens.generate``, so stored as the product stores them), one public
  service per room (``catalog.actions.do_create_service``) and its service room
  (``chat.actions.service_room``) of 10-50 people (``chat.actions.add_member``): everyone is a
  member of exactly one room.
- the **event server(s)**: ``python -m hashdesk.realtime``. One node: the embedded default
  (SQLite, UDP wake-ups). Scaled out: two event servers on one fresh PostgreSQL database and
  one Redis database (bench/support/scaled_out.py), clients alternating between them, so every
  room has members on both. Sends go over the socket (``send`` frame), so web processes take no
  part in this benchmark and none is started.
- two **load** processes (``--role load``): bench/ws_fanout.py's client (websockets' Sans-I/O
  protocol on asyncio sockets) with the person's token in the handshake; hello with the room's
  stream. Each chatter sends a message every 2-5 s (seeded) and times **round trip** (the
  ``send`` frame written to the ``chat_message`` event of that message received back on its
  room's stream: stored, logged, fanned out) and **ack** (frame to ``ack``). It records every
  message id its room's stream brings.
- **forced reconnect**: at mid-run every client aborts its socket (no close handshake) and
  reconnects after 0-1 s (seeded jitter) with ``hello`` and the last event id it received;
  sends that had no ack and messages "typed" while offline are sent after the welcome with
  the same ``client_key``.
- **verify** (``--role verify``): the database's messages per room, Message rows vs distinct
  (author, client_key). Every member must have received every message of its room exactly once.

Usage: ``.venv/bin/python bench/chat.py [--quick] [--no-scaled-out] [--postgres URL]
[--redis URL] [--people 500] [--seconds 30]`` (about 2.5 minutes; ``--quick`` about 1).
Results: bench/results/chat.json; figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "chat.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
sys.path.insert(0, str(BENCH_DIR))
import loadgen  # noqa: E402
import scaled_out  # noqa: E402

import ws_fanout  # noqa: E402

TARGET_P99_MS = 150.0
ROOM_SIZES = (10, 50)
SEND_INTERVAL_SECONDS = (2.0, 5.0)
RECONNECT_JITTER_SECONDS = 1.0
LOAD_PROCESSES = 2
DRAIN_TIMEOUT_SECONDS = 60.0
# Redis keys and channels of the scaled-out run (its database is flushed before and after).
REDIS_PREFIX = "hashdesk-bench-chat"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
BODIES = (
    "VPN dropped again for me, anyone else?",
    "Same here since 9:40, on the Lisbon office network",
    "Rebooting the client fixed it for **me**",
    "Is there an incident open for this?",
)


# --- Prepare: people, tokens, rooms (run in a child, against the run's database) ----------------


def room_sizes(people: int, rng: random.Random) -> list[int]:
    """Sizes of 10-50 that add up to ``people`` (each step leaves at least 10)."""
    low, high = ROOM_SIZES
    sizes: list[int] = []
    left = people
    while left >= high + low:
        size = rng.randint(low, high)
        sizes.append(size)
        left -= size
    if left > high:
        sizes += [left // 2, left - left // 2]
    elif left:
        sizes.append(left)
    return sizes


def prepare(people: int, seed: int) -> dict[str, Any]:
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from hashdesk.accounts import tokens
    from hashdesk.accounts.choices import Role
    from hashdesk.accounts.models import ApiToken, User
    from hashdesk.catalog import actions as catalog
    from hashdesk.catalog.choices import Visibility
    from hashdesk.chat import actions as chat

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    rng = random.Random(seed)
    unusable = make_password(None)
    with transaction.atomic():
        # Bulk rows: 500 times do_create_user + do_create_api_token (audit, event, notice each)
        # would measure the setup, not chat. The token secrets are made and hashed as the
        # product makes them.
        users = User.objects.bulk_create(
            User(email=f"chatter{i}@bench.example", display_name=f"Chatter {i}", password=unusable)
            for i in range(people)
        )
        requester = Group.objects.get(name=Role.REQUESTER)
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=user.pk, group_id=requester.pk) for user in users
        )
        raw_tokens: list[str] = []
        rows = []
        for user in users:
            raw, prefix, secret_hash = tokens.generate()
            raw_tokens.append(raw)
            rows.append(
                ApiToken(
                    user=user,
                    name="bench chat",
                    prefix=prefix,
                    secret_hash=secret_hash,
                    scope="write",
                    expires_at=timezone.now() + timedelta(days=1),
                )
            )
        ApiToken.objects.bulk_create(rows)
        assignments = []
        start = 0
        for index, size in enumerate(room_sizes(people, rng)):
            service = catalog.do_create_service(
                None,
                name=f"Bench service {index}",
                hashtag=f"bench{index}",
                visibility=Visibility.PUBLIC,
            )
            room = chat.service_room(service)
            for user, raw in zip(
                users[start : start + size], raw_tokens[start : start + size], strict=True
            ):
                chat.add_member(room, user)
                assignments.append({"user_id": user.pk, "token": raw, "room_id": room.pk})
            start += size
    rng.shuffle(assignments)  # rooms spread over load processes and event servers
    return {"people": assignments}


def verify() -> dict[str, Any]:
    """What the database holds after the run: message ids per room, and the duplicate check."""
    import django

    django.setup()
    from hashdesk.chat.models import Message

    rooms: dict[str, list[int]] = {}
    keys: set[tuple[int, str]] = set()
    rows = 0
    blank_keys = 0
    for message_id, room_id, author_id, key in Message.objects.order_by("id").values_list(
        "id", "room_id", "author_id", "client_key"
    ):
        rows += 1
        rooms.setdefault(str(room_id), []).append(message_id)
        if key:
            keys.add((author_id, key))
        else:
            blank_keys += 1
    return {"rooms": rooms, "rows": rows, "distinct_keys": len(keys), "blank_keys": blank_keys}


def send_cost(samples: int) -> dict[str, Any]:
    """One ``send`` frame's database work as the event server does it (realtime.chat.send_message
    on a thread of its own), in-process: median time and statements, by ``samples`` people."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hashdesk.chat.models import Membership
    from hashdesk.realtime import chat, protocol

    times: list[float] = []
    queries: list[int] = []
    members = Membership.objects.select_related("user").order_by("id")[:samples]
    for number, membership in enumerate(members):
        frame = protocol.SendMessage(
            room_id=membership.room_id,
            body=BODIES[number % len(BODIES)],
            client_key=f"cost-{membership.user_id}",
            thread_root_id=None,
        )
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            outcome = chat.send_message(membership.user, frame)
            times.append((time.perf_counter() - started) * 1000)
        assert isinstance(outcome, chat.Acknowledged), outcome
        queries.append(len(captured.captured_queries))
    return {
        "sends": len(times),
        "median_ms": round(statistics.median(times), 2),
        "statements": statistics.median(queries),
    }


# --- Load: chatters ------------------------------------------------------------------------------


@dataclass
class Send:
    key: str
    body: str
    typed_at: float
    offline: bool  # typed while disconnected: sent after the welcome
    first_sent_at: float | None = None
    tries: int = 0
    ack_at: float | None = None
    event_at: float | None = None
    message_id: int | None = None
    created: bool | None = None
    error: str | None = None


@dataclass
class Person:
    user_id: int
    room_id: int
    token: str
    url: str
    connection: Any = None
    live: bool = False
    last_event_id: int = 0
    received: list[int] = field(default_factory=list)
    order_violations: int = 0
    resets: int = 0
    sends: dict[str, Send] = field(default_factory=dict)
    outbox: list[str] = field(default_factory=list)  # keys without an answer, in typed order
    dropped_at: float | None = None
    rewelcomed_at: float | None = None
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def hello(self) -> bytes:
        frame: dict[str, Any] = {"type": "hello", "streams": [f"room:{self.room_id}"]}
        if self.last_event_id:
            frame["last_event_id"] = self.last_event_id
        return json.dumps(frame).encode()

    def type_message(self, key: str, body: str) -> None:
        send = Send(key=key, body=body, typed_at=time.time(), offline=not self.live)
        self.sends[key] = send
        self.outbox.append(key)
        if self.live:
            self._transmit(send)

    def _transmit(self, send: Send) -> None:
        frame = {"type": "send", "room_id": self.room_id, "body": send.body, "client_key": send.key}
        send.tries += 1
        if send.first_sent_at is None:
            send.first_sent_at = time.time()
        self.connection.protocol.send_text(json.dumps(frame).encode())
        self.connection._flush()

    def on_frame(self, arrived: float, data: bytes) -> None:
        message = json.loads(data)
        kind = message["type"]
        if kind == "event":
            self._on_event(arrived, message["event"])
        elif kind == "ack":
            self._on_ack(arrived, message)
        elif kind == "welcome":
            self._on_welcome(message)
        elif kind == "error":
            self._on_error(message)
        elif kind == "reset":
            self.resets += 1
            self.last_event_id = message["last_event_id"]

    def _on_welcome(self, message: dict[str, Any]) -> None:
        if not self.last_event_id:
            self.last_event_id = message["last_event_id"]
        if self.dropped_at is not None:
            self.rewelcomed_at = time.time()
        self.live = True
        if not self.connection.welcomed.done():
            self.connection.welcomed.set_result(None)
        # In flight when the socket dropped, or typed while offline: send again, same key.
        for key in self.outbox:
            self._transmit(self.sends[key])

    def _on_event(self, arrived: float, event: dict[str, Any]) -> None:
        if event["id"] <= self.last_event_id:
            self.order_violations += 1  # a repeat or out of order: either would be a fault
        else:
            self.last_event_id = event["id"]
        if event["type"] != "chat_message" or event["op"] != "create":
            return
        chat = event["message"]
        if chat["room_id"] != self.room_id:
            return
        self.received.append(chat["id"])
        author = chat.get("author") or {}
        send = self.sends.get(chat["client_key"]) if author.get("id") == self.user_id else None
        if send is not None and send.event_at is None:
            send.event_at = arrived

    def _on_ack(self, arrived: float, message: dict[str, Any]) -> None:
        send = self.sends[message["client_key"]]
        if send.ack_at is None:
            send.ack_at = arrived
            send.message_id = message["message_id"]
            send.created = message["created"]
        if send.key in self.outbox:
            self.outbox.remove(send.key)

    def _on_error(self, message: dict[str, Any]) -> None:
        code = message["code"]
        self.errors[code] += 1
        key = message.get("client_key")
        if key is None or key not in self.sends:
            return
        if code == "unavailable":
            asyncio.get_running_loop().call_later(1.0, self._retry, key)
            return
        self.sends[key].error = code  # refused: nothing stored, nothing to wait for
        if key in self.outbox:
            self.outbox.remove(key)

    def _retry(self, key: str) -> None:
        if self.live and key in self.outbox:
            self._transmit(self.sends[key])

    def drop(self) -> None:
        """Abort the socket: no close frame, whatever was in flight is in limbo."""
        self.live = False
        self.dropped_at = time.time()
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.abort()

    def done(self) -> bool:
        return not self.outbox and all(
            send.event_at is not None for send in self.sends.values() if send.error is None
        )

    def report(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "room_id": self.room_id,
            "received": self.received,
            "order_violations": self.order_violations,
            "resets": self.resets,
            "dropped_at": self.dropped_at,
            "rewelcomed_at": self.rewelcomed_at,
            "errors": dict(self.errors),
            # key, typed, first sent, ack, event, message id, created, tries, offline, error
            "sends": [
                [
                    s.key,
                    s.typed_at,
                    s.first_sent_at,
                    s.ack_at,
                    s.event_at,
                    s.message_id,
                    s.created,
                    s.tries,
                    s.offline,
                    s.error,
                ]
                for s in self.sends.values()
            ],
        }


class ChatConnection(ws_fanout.LoadClient):
    """ws_fanout's client with the person's token in the handshake; frames go to the Person."""

    def __init__(self, person: Person) -> None:
        super().__init__(person.url, record=None)
        self.person = person

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.person.connection = self  # before any frame can arrive on it
        request = self.protocol.connect()
        request.headers["Authorization"] = f"Bearer {self.person.token}"
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Frame
        from websockets.http11 import Response

        arrived = time.time()  # before any parsing, as in ws_fanout
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if event.status_code != 101:
                    self.welcomed.set_exception(ConnectionError(f"HTTP {event.status_code}"))
                    return
                self.protocol.send_text(self.person.hello())
            elif isinstance(event, Frame) and event.opcode.name == "TEXT":
                self.person.on_frame(arrived, event.data)
        self._flush()


async def connect(person: Person) -> None:
    loop = asyncio.get_running_loop()
    port = int(person.url.split(":")[2].split("/")[0])
    for attempt in range(10):
        try:
            _, connection = await loop.create_connection(
                lambda: ChatConnection(person), "127.0.0.1", port
            )
            person.connection = connection
            await asyncio.wait_for(connection.welcomed, 30)
            return
        except (OSError, TimeoutError):
            await asyncio.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"person {person.user_id} could not connect to {person.url}")


async def wait_for_file(path: Path) -> dict[str, Any]:
    while not path.exists():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)  # written with one rename, but be patient with the directory
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


async def chatter(person: Person, rng: random.Random, start: float, stop: float) -> None:
    await sleep_until(start + rng.uniform(0, SEND_INTERVAL_SECONDS[1]))
    number = 0
    while time.time() < stop:
        number += 1
        person.type_message(f"bench-{person.user_id}-{number}", rng.choice(BODIES))
        await asyncio.sleep(rng.uniform(*SEND_INTERVAL_SECONDS))


async def force_reconnect(person: Person, rng: random.Random, at: float) -> None:
    await sleep_until(at)
    person.drop()
    await asyncio.sleep(rng.uniform(0, RECONNECT_JITTER_SECONDS))
    await connect(person)


async def run_load(assignments: Path, control: Path, out: Path, seed: int) -> None:
    ws_fanout.raise_file_limit()
    people = [Person(**row) for row in json.loads(assignments.read_text())]
    for start in range(0, len(people), 100):  # the server's listen backlog is 100
        await asyncio.gather(*(connect(person) for person in people[start : start + 100]))
    print("ready", flush=True)
    go = await wait_for_file(control / "go.json")
    cpu_before, wall_before = time.process_time(), time.time()
    rngs = {person.user_id: random.Random(seed * 1_000_003 + person.user_id) for person in people}
    tasks = [chatter(p, rngs[p.user_id], go["start"], go["stop"]) for p in people]
    if go["reconnect_at"] is not None:
        tasks += [force_reconnect(p, rngs[p.user_id], go["reconnect_at"]) for p in people]
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while not all(person.done() for person in people) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    cpu_share = (time.process_time() - cpu_before) / (time.time() - wall_before)
    print("drained", flush=True)
    # The driver read the database: wait until every member has its room's messages (or time).
    expected = (await wait_for_file(control / "expected.json"))["rooms"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        len(set(p.received)) < len(expected.get(str(p.room_id), [])) for p in people
    ):
        await asyncio.sleep(0.05)
    report = {"cpu_share": round(cpu_share, 2), "people": [person.report() for person in people]}
    out.write_text(json.dumps(report))
    for person in people:
        if person.connection is not None and person.connection.transport is not None:
            person.connection.transport.close()


# --- The driver ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_json(role: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--role", role, *extra],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _write_atomically(path: Path, data: Any) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(data))
    partial.rename(path)


def chat_run(
    urls: list[str],
    servers: list[ws_fanout.Child],
    people: list[dict[str, Any]],
    env: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Chatters on ``urls`` (person i on server i % len): run, reconnect, drain, check."""
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-load-"))
    loads: list[tuple[ws_fanout.Child, Path]] = []
    try:
        for index in range(LOAD_PROCESSES):
            share = [
                {**person, "url": urls[number % len(urls)]}
                for number, person in enumerate(people)
                if number % LOAD_PROCESSES == index
            ]
            assignments, out = workdir / f"people-{index}.json", workdir / f"load-{index}.json"
            assignments.write_text(json.dumps(share))
            argv = [sys.executable, __file__, "--role", "load", "--assignments", str(assignments)]
            argv += ["--control", str(workdir), "--out", str(out), "--seed", str(args.seed + index)]
            loads.append((ws_fanout.Child(argv, env), out))
        for child, _ in loads:
            child.wait_line("ready")
        load_before = round(os.getloadavg()[0], 2)
        start = time.time() + 1.0
        go = {
            "start": start,
            "reconnect_at": start + args.seconds / 2 if args.reconnect else None,
            "stop": start + args.seconds,
        }
        _write_atomically(workdir / "go.json", go)
        cpu_before = [cpu_seconds(server.process.pid) for server in servers]
        reconnecting = ", every client reconnecting at half time" if args.reconnect else ""
        print(f"chatting for {args.seconds:.0f} s{reconnecting} ...")
        for child, _ in loads:
            child.wait_line("drained", timeout=args.seconds + DRAIN_TIMEOUT_SECONDS + 30)
        load_after = round(os.getloadavg()[0], 2)
        busy = time.time() - start
        cpu = [
            round((cpu_seconds(server.process.pid) - before) / busy, 2)
            for server, before in zip(servers, cpu_before, strict=True)
        ]
        database = _child_json("verify", env)
        _write_atomically(workdir / "expected.json", {"rooms": database["rooms"]})
        for child, _ in loads:
            child.process.wait(60)
        outputs = [json.loads(out.read_text()) for _, out in loads]
        reports = [row for output in outputs for row in output["people"]]
    finally:
        for child, _ in loads:
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    result = analyse(reports, database, go)
    result["load_average_1min"] = [load_before, load_after]
    # Near 1.0: the event server's one process (one GIL) was the limit.
    result["event_server_cpu_share_of_one_core"] = cpu
    # The clients share the machine's cores with the servers.
    result["load_process_cpu_share_of_one_core"] = [output["cpu_share"] for output in outputs]
    return result


def _figures(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"samples": 0}
    return {
        "samples": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(ws_fanout.percentile(samples, 0.95), 1),
        "p99_ms": round(ws_fanout.percentile(samples, 0.99), 1),
        "max_ms": round(max(samples), 1),
    }


def analyse(
    reports: list[dict[str, Any]], database: dict[str, Any], go: dict[str, Any]
) -> dict[str, Any]:
    round_trip: list[float] = []
    round_trip_before: list[float] = []
    ack: list[float] = []
    across: list[float] = []  # typed to own event, for sends that crossed the reconnect
    resent = offline = resent_created_false = unanswered = refused = 0
    typed = 0
    reconnect_ms: list[float] = []
    last_ack = go["start"]
    errors: collections.Counter[str] = collections.Counter()
    delivery = {"expected": 0, "delivered": 0, "missing": 0, "duplicates": 0, "unexpected": 0}
    clients_not_exactly_once = 0
    order_violations = resets = 0
    reconnect_at = go["reconnect_at"]
    for person in reports:
        errors.update(person["errors"])
        order_violations += person["order_violations"]
        resets += person["resets"]
        if person["dropped_at"] is not None and person["rewelcomed_at"] is not None:
            reconnect_ms.append((person["rewelcomed_at"] - person["dropped_at"]) * 1000)
        for _key, typed_at, sent, acked, seen, _id, created, tries, was_offline, error in person[
            "sends"
        ]:
            typed += 1
            if error is not None:
                refused += 1
                continue
            if acked is None:
                unanswered += 1
            else:
                last_ack = max(last_ack, acked)
            crossed = (
                person["dropped_at"] is not None
                and sent < person["dropped_at"]
                and (seen is None or seen > person["dropped_at"])
            )
            if tries > 1 or was_offline or crossed:
                resent += tries > 1
                offline += was_offline
                resent_created_false += tries > 1 and created is False
                if seen is not None:
                    across.append((seen - typed_at) * 1000)
                continue
            if seen is not None:
                round_trip.append((seen - sent) * 1000)
                if reconnect_at is None or sent < reconnect_at:
                    round_trip_before.append((seen - sent) * 1000)
            if acked is not None:
                ack.append((acked - sent) * 1000)
        expected = set(database["rooms"].get(str(person["room_id"]), []))
        counts = collections.Counter(person["received"])
        got = set(counts)
        missing = len(expected - got)
        duplicates = sum(count - 1 for count in counts.values())
        unexpected = len(got - expected)
        delivery["expected"] += len(expected)
        delivery["delivered"] += len(expected & got)
        delivery["missing"] += missing
        delivery["duplicates"] += duplicates
        delivery["unexpected"] += unexpected
        clients_not_exactly_once += bool(missing or duplicates or unexpected)
    seconds = go["stop"] - go["start"]
    return {
        "chatters": len(reports),
        "rooms": len(database["rooms"]),
        "messages_typed": typed,
        "messages_per_second": round(typed / seconds, 1),
        # What the server stored: every message from the start to the last acknowledgement.
        "stored_per_second": round((typed - refused) / (last_ack - go["start"]), 1),
        "round_trip": _figures(round_trip),
        "round_trip_before_reconnect": _figures(round_trip_before),
        "ack": _figures(ack),
        "target_p99_ms": TARGET_P99_MS,
        "delivery": {
            **delivery,
            "clients_not_exactly_once": clients_not_exactly_once,
            "events_out_of_order_or_repeated": order_violations,
            "resets": resets,
        },
        "database": {
            "message_rows": database["rows"],
            "distinct_author_client_keys": database["distinct_keys"],
            "duplicates": database["rows"] - database["distinct_keys"] - database["blank_keys"],
            "rows_without_key": database["blank_keys"],
            "typed_and_not_refused": typed - refused,
        },
        "reconnect": {
            "clients_reconnected": len(reconnect_ms),
            "drop_to_welcome": _figures(reconnect_ms),
            "sends_resent_same_key": resent,
            "resent_answered_created_false": resent_created_false,
            "typed_while_offline": offline,
            "typed_to_own_event_across_reconnect": _figures(across),
        },
        "unanswered_sends": unanswered,
        "refused_sends": refused,
        "errors": dict(errors),
    }


def single_node(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    print(f"one node: preparing {args.people} people and their rooms ...")
    people = _child_json("prepare", env, "--people", str(args.people), "--seed", str(args.seed))
    url = f"ws://127.0.0.1:{env['HASHDESK_EVENT_SERVER_PORT']}/ws/"
    server = ws_fanout.Child([sys.executable, "-m", "hashdesk.realtime"], env)
    try:
        ws_fanout.wait_http(url.replace("ws://", "http://").replace("/ws/", "/healthz"))
        result = chat_run([url], [server], people["people"], env, args)
    finally:
        server.stop()
    result["one_send_in_process"] = _child_json("cost", env)
    result["setup"] = (
        "one event server (python -m hashdesk.realtime), embedded mode: SQLite (WAL), UDP "
        "wake-ups; rate limits on"
    )
    return result


def scaled(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    if not args.scaled_out:
        return {"skipped": "--no-scaled-out"}
    reason = scaled_out.unavailable(args.postgres, args.redis)
    if reason is not None:
        print(f"two event servers: SKIPPED: {reason}", flush=True)
        return {"skipped": reason}
    data_dir = Path(tempfile.mkdtemp(prefix="chat-bench-nodes-"))
    name = f"hashdesk_bench_chat_{os.getpid()}_{int(time.time())}"
    servers: list[ws_fanout.Child] = []
    try:
        with (
            scaled_out.fresh_database(args.postgres, name) as database,
            scaled_out.flushed_redis(args.redis),
        ):
            shared = scaled_out.shared_environment(
                env, database=database, redis_url=args.redis, prefix=REDIS_PREFIX
            ) | {"HASHDESK_DATA_DIR": str(data_dir)}
            print(f"two event servers: preparing {args.people} people on PostgreSQL ...")
            people = _child_json(
                "prepare", shared, "--people", str(args.people), "--seed", str(args.seed)
            )
            urls = []
            for node in ("A", "B"):
                port = loadgen.free_port()
                (data_dir / node).mkdir()
                node_env = shared | {
                    "HASHDESK_DATA_DIR": str(data_dir / node),
                    "HASHDESK_EVENT_SERVER_PORT": str(port),
                    "HASHDESK_EVENT_NOTIFY_PORT": str(loadgen.free_port()),
                }
                argv = [sys.executable, "-m", "hashdesk.realtime"]
                servers.append(ws_fanout.Child(argv, node_env))
                urls.append(f"ws://127.0.0.1:{port}/ws/")
            for url in urls:
                ws_fanout.wait_http(url.replace("ws://", "http://").replace("/ws/", "/healthz"))
            subscribed = scaled_out.subscribers(args.redis, f"{REDIS_PREFIX}:events")
            if subscribed != len(urls):
                raise RuntimeError(f"{subscribed} event servers subscribed to Redis, not 2")
            try:
                result = chat_run(urls, servers, people["people"], shared, args)
                result["events_delivered_per_event_server"] = [
                    _health(url)["events_delivered"] for url in urls
                ]
            finally:
                # Before the database is dropped under them.
                for server in servers:
                    server.stop()
            result["one_send_in_process"] = _child_json("cost", shared)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    result["setup"] = (
        "two event servers (python -m hashdesk.realtime) on one fresh PostgreSQL database and "
        "one Redis database (pub/sub wake-ups, cache and rate limits); clients alternate "
        "between them, so each room has members on both; no web process (sends go over the "
        "socket)"
    )
    result["postgresql"] = args.postgres
    result["redis"] = args.redis
    return result


def _health(url: str) -> dict[str, Any]:
    health_url = url.replace("ws://", "http://").replace("/ws/", "/healthz")
    with urllib.request.urlopen(health_url, timeout=5) as answer:
        health: dict[str, Any] = json.load(answer)
        return health


def _summary(name: str, result: dict[str, Any]) -> dict[str, Any]:
    if "round_trip" not in result:
        return {"setup": name, **{k: v for k, v in result.items() if k in {"skipped", "error"}}}
    delivery, database = result["delivery"], result["database"]
    return {
        "setup": name,
        "messages_per_second": result["messages_per_second"],
        "stored_per_second": result["stored_per_second"],
        "event_server_cpu_share_of_one_core": result["event_server_cpu_share_of_one_core"],
        "round_trip_p50_ms": result["round_trip"].get("p50_ms"),
        "round_trip_p99_ms": result["round_trip"].get("p99_ms"),
        "ack_p50_ms": result["ack"].get("p50_ms"),
        "ack_p99_ms": result["ack"].get("p99_ms"),
        "delivered": f"{delivery['delivered']}/{delivery['expected']}",
        "duplicates_on_clients": delivery["duplicates"],
        "duplicates_in_database": database["duplicates"],
        "exactly_once": delivery["clients_not_exactly_once"] == 0
        and database["duplicates"] == 0
        and result["unanswered_sends"] == 0,
        "load_average_1min": result["load_average_1min"],
    }


def drive(args: argparse.Namespace) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress lines
    ws_fanout.raise_file_limit()  # inherited by the servers and load processes
    data_dir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    env = ws_fanout.bench_environment(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    try:
        one = single_node(args, env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    failure = None
    try:
        two = scaled(args, env)
    except Exception as exc:
        # Recorded with the single-node figures, which stay valid; the exit status says it failed.
        failure = f"{type(exc).__name__}: {exc}"
        two = {"error": failure}
    report = {
        "benchmark": "chat",
        "what": "N chatters in rooms of 10-50 over the event server's send frame; round trip = "
        "send frame written to the chat_message event of that message received back; ack = "
        "send frame to ack; every client aborts and resumes at half time",
        "quick": args.quick,
        "people": args.people,
        "seconds": args.seconds,
        "send_interval_seconds": list(SEND_INTERVAL_SECONDS),
        "reconnect_jitter_seconds": RECONNECT_JITTER_SECONDS,
        "load_processes": LOAD_PROCESSES,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": [_summary("one node", one), _summary("two event servers + Redis", two)],
        "single_node": one,
        "scaled_out": two,
        "total_seconds": round(time.perf_counter() - started),
    }
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"wrote {results} ({report['total_seconds']} s)")
    if failure is not None:
        raise SystemExit(f"two event servers: FAILED: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--role", choices=["drive", "load", "prepare", "verify", "cost"], default="drive"
    )
    parser.add_argument("--quick", action="store_true", help="15 s of chat per setup")
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0, help="of chat per setup")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--reconnect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="abort and resume every client at half time (default: on)",
    )
    parser.add_argument(
        "--scaled-out",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also two event servers on PostgreSQL and Redis (default: on; skipped with a "
        "message when either does not answer)",
    )
    parser.add_argument(
        "--postgres",
        default=scaled_out.DEFAULT_POSTGRES_URL,
        help="PostgreSQL server; a fresh database is created and dropped (default: %(default)s)",
    )
    parser.add_argument(
        "--redis",
        default=DEFAULT_REDIS_URL,
        help="Redis database, flushed before and after; not 0 (default: %(default)s)",
    )
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON goes")
    parser.add_argument("--assignments")
    parser.add_argument("--control")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.role == "load":
        asyncio.run(run_load(Path(args.assignments), Path(args.control), Path(args.out), args.seed))
    elif args.role == "prepare":
        print(json.dumps(prepare(args.people, args.seed)), flush=True)
    elif args.role == "verify":
        print(json.dumps(verify()), flush=True)
    elif args.role == "cost":
        print(json.dumps(send_cost(50)), flush=True)
    else:
        if args.quick:
            args.seconds = 15.0
        drive(args)


if __name__ == "__main__":
    main()
