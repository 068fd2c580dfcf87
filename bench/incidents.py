"""Benchmark: incidents in Hashdesk side by side with django-helpdesk, in the same run.

Three measurements, each against both products on the same machine, with the same load
generator (bench/support/loadgen.py: asyncio, raw HTTP/1.1 keep-alive, in its own process) and
the same server (granian, WSGI, 2 worker processes), both on SQLite:

1. **creation through the API per second** — Hashdesk ``POST /api/v1/incidents`` with a write
   token (the whole action: validation, priority, SLA clocks, timeline, audit row, event);
   django-helpdesk ``POST /api/tickets/`` (DRF, token) — 16 connections.
2. **the agent's list page with filters** — Hashdesk ``GET /incidents/?…`` (the queue page,
   signed in as an agent) at 10,000, 100,000 and 1,000,000 incidents; django-helpdesk
   ``/tickets/?…`` (its page is a shell whose rows come from a second request,
   ``/datatables_ticket_list/…``: both are measured) at 10,000 tickets.
3. **the API list** — Hashdesk ``GET /api/v1/incidents?…`` at 10,000, 100,000 and 1,000,000
   incidents; django-helpdesk ``GET /api/tickets/?status=1`` at 10,000.

Latency targets are measured with one connection (one request at a time: the time a request
takes, not the time it waits behind others on two cores); creation with 16.

Data: Hashdesk gets the demo organisation and 10,000 incidents of demo history (the demo
loader's bulk path: clocks, timelines, people); 100,000 and 1,000,000 are reached by copying
those incidents in SQL as older, closed history (the open backlog stays that of the demo, as
a desk's backlog does when its history grows; rate limits off). django-helpdesk gets 10,000
tickets with one follow-up each (``seed_tickets``). For every Hashdesk list target the script
also measures the request in-process and records its queries, the slowest query's time and its
``EXPLAIN QUERY PLAN``, and a profile when the target is missed.

django-helpdesk runs in its own virtual environment, ``bench/.peer-venv`` (created on first run
with ``pip install django-helpdesk`` and the same granian, reused afterwards), from the minimal
project in bench/support/helpdesk_peer/.

Results: bench/results/incidents.json. Usage::

    .venv/bin/python bench/incidents.py [--quick] [--seconds 6] [--connections 16]

``--quick`` measures 3 s per target and stops at 100,000 incidents (about two minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SUPPORT = BENCH_DIR / "support"
PEER_VENV = BENCH_DIR / ".peer-venv"
RESULTS = BENCH_DIR / "results" / "incidents.json"
WORKERS = 2
BASE_INCIDENTS = 10_000
LEVELS = (10_000, 100_000, 1_000_000)
QUICK_LEVELS = (10_000, 100_000)
PEER_TICKETS = 10_000
TARGET_MS = 20.0

sys.path.insert(0, str(SUPPORT))
import loadgen  # noqa: E402

CREATE_BODY = {
    "title": "VPN drops every few minutes",
    "description": "Since this morning the **VPN** disconnects every 5 minutes at home.",
    "service": "vpn",
    "category": "network",
    "impact": 3,
    "urgency": 2,
}
# Batch creation (``POST /api/v1/incidents/batch``): the path for alert storms and imports.
# Each request carries BATCH_SIZE reports; its rate is counted in incidents, not requests.
BATCH_SIZE = 100
BATCH_BODY = {"incidents": [CREATE_BODY] * BATCH_SIZE}
PEER_CREATE_BODY = {
    "queue": 1,
    "title": "VPN drops every few minutes",
    "description": "Since this morning the VPN disconnects every 5 minutes at home.",
    "submitter_email": "person1@example.test",
    "priority": 3,
}
OPEN = "new,assigned,in_progress,on_hold"
# (name, path, how it signs in)
API_LISTS = (
    ("api_list_newest", "/api/v1/incidents?limit=50", "token"),
    ("api_list_open_on_service", f"/api/v1/incidents?state={OPEN}&service=vpn&limit=50", "token"),
)
QUEUE_PAGES = (
    ("queue_open_on_service", "/incidents/?queue=open&service=vpn", "session"),
    ("queue_all_p2", "/incidents/?queue=all&priority=2", "session"),
)


# --- Hashdesk: children run with Hashdesk's environment -------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()


def hashdesk_prepare(incidents: int) -> dict[str, Any]:
    """Migrations, the demo organisation with ``incidents`` of history, an agent's credentials."""
    _django()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from hashdesk.accounts import actions as accounts
    from hashdesk.accounts.models import Team
    from hashdesk.demo.loader import load_demo
    from hashdesk.incidents.models import Incident

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    summary = load_demo(incidents=incidents)
    seconds = time.perf_counter() - started
    agent = accounts.do_create_user(
        None, email="bench.agent@example.test", display_name="Bench Agent", roles=["agent"]
    )
    accounts.do_add_team_member(None, Team.objects.get(name="Network"), agent)
    _token, read = accounts.do_create_api_token(agent, name="bench read", scope="read")
    _token, write = accounts.do_create_api_token(agent, name="bench write", scope="write")
    client = Client()
    client.force_login(agent)
    cookie = settings.SESSION_COOKIE_NAME
    return {
        "read_token": read,
        "write_token": write,
        "session_cookie": f"{cookie}={client.cookies[cookie].value}",
        "demo_seconds": round(seconds, 1),
        "demo_created": summary.created,
        "base_max_id": Incident.objects.order_by("-id").values_list("id", flat=True).first(),
    }


def hashdesk_grow(target: int, base_max_id: int) -> dict[str, Any]:
    """Copy the demo incidents (ids up to ``base_max_id``) as older, closed history until the
    table holds ``target`` incidents. SQLite, in one transaction; numbers from the new ids."""
    _django()
    from django.db import connection, transaction

    from hashdesk.incidents.models import Incident

    started = time.perf_counter()
    fields = Incident._meta.concrete_fields
    columns = [f.column for f in fields]
    final = "('closed', 'cancelled')"

    def shifted(column: str) -> str:
        # A week further back per copy; keeps the microseconds.
        return (
            f"CASE WHEN i.{column} IS NULL THEN NULL ELSE strftime('%%Y-%%m-%%d %%H:%%M:%%S', "
            f"i.{column}, '-' || (%s * 7) || ' days') || substr(i.{column}, 20) END"
        )

    with transaction.atomic(), connection.cursor() as cursor:
        count = Incident.objects.count()
        copy = 0
        while count < target:
            copy += 1
            rows = min(base_max_id, target - count)
            start_id = Incident.objects.order_by("-id").values_list("id", flat=True).first() or 0
            select: list[str] = []
            params: list[Any] = []
            for column in columns:
                if column == "id":
                    select.append("i.id + %s")
                    params.append(start_id)
                elif column == "number":
                    select.append("printf('INC-%%06d', i.id + %s)")
                    params.append(start_id)
                elif column == "state":
                    select.append(f"CASE WHEN i.state IN {final} THEN i.state ELSE 'closed' END")
                elif column == "hold_reason":
                    select.append("''")
                elif column in {"sla_due_at", "merged_into_id", "next_update_due_at"}:
                    select.append("NULL")
                elif column == "sla_state":
                    select.append(
                        "CASE WHEN i.sla_state IN ('running', 'paused', 'warning') "
                        "THEN 'met' ELSE i.sla_state END"
                    )
                elif column in {"resolved_at", "closed_at"}:
                    select.append(shifted(column).replace(f"i.{column}", "i.updated_at"))
                    params.append(copy)
                elif column.endswith("_at"):
                    select.append(shifted(column))
                    params.append(copy)
                else:
                    select.append(f"i.{column}")
            params.append(rows)
            cursor.execute(
                f"INSERT INTO incidents_incident ({', '.join(columns)}) "
                f"SELECT {', '.join(select)} FROM incidents_incident i "
                "WHERE i.id <= %s ORDER BY i.id",
                params,
            )
            count += rows
    return {
        "incidents": Incident.objects.count(),
        "grow_seconds": round(time.perf_counter() - started, 1),
    }


class _QueryTimer:
    """A database execute wrapper that times each query (CaptureQueriesContext rounds to ms)."""

    def __init__(self) -> None:
        self.timed: list[tuple[float, str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timed.append(((time.perf_counter() - started) * 1000, sql, params))


def hashdesk_inspect(targets: list[dict[str, Any]], credentials: dict[str, str]) -> dict[str, Any]:
    """Each target in-process (Django's test client, no HTTP): median time, its queries timed
    one by one, the slowest query's ``EXPLAIN QUERY PLAN``, and where the time goes (a profile
    of Hashdesk's own functions) when the target is missed."""
    _django()
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client

    def request(client: Client, target: dict[str, Any]) -> Any:
        if target.get("method") == "POST":
            return client.post(target["path"], target["body"], content_type="application/json")
        return client.get(target["path"])

    results: dict[str, Any] = {}
    for target in targets:
        if target["auth"] == "session":
            client = Client()
            name, value = credentials["session_cookie"].split("=", 1)
            client.cookies[name] = value
        else:
            token = credentials["write_token" if target["auth"] == "write" else "read_token"]
            client = Client(headers={"Authorization": f"Bearer {token}"})
        answer = request(client, target)
        assert answer.status_code in {200, 201}, (target["path"], answer.status_code)
        times = []
        for _ in range(15):
            started = time.perf_counter()
            request(client, target)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        timer = _QueryTimer()
        with connection.execute_wrapper(timer):
            request(client, target)
        timed = timer.timed
        selects = [t for t in timed if t[1].lstrip().upper().startswith("SELECT")]
        slowest_ms, slowest_sql, slowest_params = max(selects, key=lambda t: t[0])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {slowest_sql}", slowest_params)
            plan = [row[-1] for row in cursor.fetchall()]
        result: dict[str, Any] = {
            "path": target["path"],
            "in_process_median_ms": round(times[len(times) // 2], 2),
            "queries": len(timed),
            "queries_ms": round(sum(t[0] for t in timed), 2),
            "query_ms_each": [round(t[0], 2) for t in timed],
            "slowest_query_ms": round(slowest_ms, 2),
            "slowest_query": slowest_sql[:2000],
            "slowest_query_plan": plan,
        }
        if target.get("profile") or result["in_process_median_ms"] > TARGET_MS:
            runs = 10
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(runs):
                request(client, target)
            profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
            stats.print_stats("src/hashdesk|template/loader|ninja/operation", 30)
            lines = []
            for line in out.getvalue().splitlines():
                fields = line.split(None, 5)
                if len(fields) == 6 and "(" in fields[5] and fields[3][:1].isdigit():
                    # Milliseconds per request (profiled: about twice the real time).
                    per_request = float(fields[3]) * 1000 / runs
                    lines.append(f"{per_request:7.2f} ms  {fields[5].split('site-packages/')[-1]}")
            result["profile_ms_per_request_cumulative"] = lines
        results[target["name"]] = result
    return results


# --- django-helpdesk ------------------------------------------------------------------------


def ensure_peer_venv() -> Path:
    """bench/.peer-venv with django-helpdesk and the same granian as Hashdesk; made once."""
    from importlib.metadata import version

    python = PEER_VENV / "bin" / "python"
    probe = [str(python), "-c", "import helpdesk, granian, rest_framework"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print("Creating bench/.peer-venv with django-helpdesk (first run only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "django-helpdesk",
         f"granian=={version('granian')}"],
        check=True,
    )  # fmt: skip
    return python


def peer_versions(python: Path) -> dict[str, str]:
    code = (
        "import json; from importlib.metadata import version as v; "
        "print(json.dumps({n: v(n) for n in "
        "('django-helpdesk', 'Django', 'djangorestframework', 'granian')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def peer_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk_peer.settings",
        "PEER_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(SUPPORT),
    }


def peer_prepare(python: Path, env: dict[str, str], tickets: int) -> dict[str, Any]:
    subprocess.run([str(python), "-m", "django", "migrate", "-v", "0"], env=env, check=True)
    done = subprocess.run(
        [str(python), "-m", "django", "seed_tickets", "--count", str(tickets)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def peer_list_query(queue: int) -> str:
    """The base64 query the peer's ticket list page hands its datatable (status open, queue)."""
    import base64

    query = {
        "filtering": {"queue__id__in": [queue], "status__in": [1]},
        "filtering_null": {},
        "sorting": "created",
        "sortreverse": None,
        "search_string": "",
    }
    return base64.b64encode(json.dumps(query).encode()).decode()


# --- Orchestration --------------------------------------------------------------------------


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _serve(python: str, app: str, env: dict[str, str], cwd: str) -> tuple[Any, int]:
    port = loadgen.free_port()
    server = loadgen.granian(python, app, port, workers=WORKERS, cwd=cwd, env=env)
    try:
        loadgen.wait_until_serving(port, server, path="/healthz" if "hashdesk" in app else "/")
    except RuntimeError:
        _stop(server)
        raise
    return server, port


def _stop(server: Any) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _measure(port: int, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    total = float(spec["warmup"]) + float(spec["seconds"])
    print(f"  {name}: {spec.get('method', 'GET')} {spec['path'][:70]} ({total:.0f} s) ...",
          flush=True)  # fmt: skip
    result = loadgen.drive_in_child(port, spec)
    result["path"] = spec["path"]
    return result


def run_hashdesk(args: argparse.Namespace, levels: tuple[int, ...]) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-bench-incidents-"))
    (data_dir / "metrics").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
        "HASHDESK_DATA_DIR": str(data_dir),
        "HASHDESK_RATE_LIMITS": "0",
        "HASHDESK_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    timing = {"warmup": args.warmup, "seconds": args.seconds}
    out: dict[str, Any] = {"levels": {}}
    server = None
    try:
        print(f"Hashdesk: demo organisation with {BASE_INCIDENTS} incidents ...", flush=True)
        prepared = _child(env, "--hashdesk-prepare", str(BASE_INCIDENTS))
        out["demo_load_seconds"] = prepared["demo_seconds"]
        out["demo_created"] = prepared["demo_created"]
        token = {"Authorization": f"Bearer {prepared['read_token']}"}
        session = {"Cookie": prepared["session_cookie"]}
        server, port = _serve(sys.executable, "hashdesk.wsgi:application", env, str(ROOT))
        print("Hashdesk: creation through the API ...", flush=True)
        create = {
            **timing,
            "method": "POST",
            "path": "/api/v1/incidents",
            "headers": {
                "Authorization": f"Bearer {prepared['write_token']}",
                "Content-Type": "application/json",
            },
            "body": json.dumps(CREATE_BODY),
            "expect": 201,
        }
        out["create"] = _measure(port, "create", {**create, "connections": args.connections})
        out["create_one_connection"] = _measure(port, "create_one_connection", create)
        print(f"Hashdesk: batch creation through the API ({BATCH_SIZE} per request) ...")
        batch = _measure(
            port,
            "create_batch",
            {
                **create,
                "path": "/api/v1/incidents/batch",
                "body": json.dumps(BATCH_BODY),
                "connections": 2,
            },
        )
        batch["batch_size"] = BATCH_SIZE
        batch["incidents_per_second"] = round(batch["requests_per_second"] * BATCH_SIZE, 1)
        out["create_batch"] = batch
        out["create_in_process"] = _child(
            env,
            "--hashdesk-inspect",
            json.dumps([{"name": "create", "path": "/api/v1/incidents", "auth": "write",
                         "method": "POST", "body": json.dumps(CREATE_BODY), "profile": True}]),
            "--credentials",
            json.dumps(prepared),
        )["create"]  # fmt: skip
        for level in levels:
            if level > BASE_INCIDENTS:
                print(f"Hashdesk: growing to {level:,} incidents ...", flush=True)
                grown = _child(
                    env, "--hashdesk-grow", str(level), "--base-max", str(prepared["base_max_id"])
                )
            else:
                grown = {"incidents": level}
            print(f"Hashdesk at {grown['incidents']:,} incidents:", flush=True)
            results: dict[str, Any] = dict(grown)
            targets = [*API_LISTS, *QUEUE_PAGES]
            for name, path, auth in targets:
                results[name] = _measure(
                    port,
                    name,
                    {**timing, "path": path, "headers": token if auth == "token" else session},
                )
            results["in_process"] = _child(
                env,
                "--hashdesk-inspect",
                json.dumps([{"name": n, "path": p, "auth": a} for n, p, a in targets]),
                "--credentials",
                json.dumps(prepared),
            )
            out["levels"][str(level)] = results
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def run_peer(args: argparse.Namespace) -> dict[str, Any]:
    python = ensure_peer_venv()
    data_dir = Path(tempfile.mkdtemp(prefix="helpdesk-peer-bench-"))
    env = peer_env(data_dir)
    timing = {"warmup": args.warmup, "seconds": args.seconds}
    out: dict[str, Any] = {"versions": peer_versions(python)}
    server = None
    try:
        print(f"django-helpdesk: migrations and {PEER_TICKETS:,} tickets ...", flush=True)
        seeded = peer_prepare(python, env, PEER_TICKETS)
        out["tickets"] = seeded["tickets"]
        token = {"Authorization": f"Token {seeded['token']}"}
        session = {"Cookie": f"sessionid={seeded['session']}"}
        queue = seeded["queues"][0]
        server, port = _serve(str(python), "helpdesk_peer.wsgi:application", env, str(SUPPORT))
        create = {
            **timing,
            "method": "POST",
            "path": "/api/tickets/",
            "headers": {**token, "Content-Type": "application/json"},
            "body": json.dumps({**PEER_CREATE_BODY, "queue": queue}),
            "expect": 201,
        }
        out["create"] = _measure(port, "create", {**create, "connections": args.connections})
        out["create_one_connection"] = _measure(port, "create_one_connection", create)
        out["api_list_open"] = _measure(
            port, "api_list_open", {**timing, "path": "/api/tickets/?status=1", "headers": token}
        )
        out["ticket_list_page"] = _measure(
            port,
            "ticket_list_page",
            {**timing, "path": f"/tickets/?status=1&queue={queue}", "headers": session},
        )
        out["ticket_list_rows"] = _measure(
            port,
            "ticket_list_rows",
            {
                **timing,
                "path": f"/datatables_ticket_list/{peer_list_query(queue)}"
                "?draw=1&start=0&length=25",
                "headers": session,
            },
        )
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def _summary(hashdesk: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    def p50(result: dict[str, Any]) -> float:
        return float(result["p50_ms"])

    levels = hashdesk["levels"]
    summary: dict[str, Any] = {
        "create_per_second": {
            "hashdesk": hashdesk["create"]["requests_per_second"],
            "django_helpdesk": peer["create"]["requests_per_second"],
            "ratio": round(
                hashdesk["create"]["requests_per_second"]
                / max(peer["create"]["requests_per_second"], 0.1),
                1,
            ),
            "target_ratio": 10,
            "one_connection": {
                "hashdesk": hashdesk["create_one_connection"]["requests_per_second"],
                "django_helpdesk": peer["create_one_connection"]["requests_per_second"],
            },
            "hashdesk_in_process_ms": hashdesk["create_in_process"]["in_process_median_ms"],
            # Same API, reports sent BATCH_SIZE at a time; the peer has no batch operation, so
            # it is compared with the peer's best, its one-ticket-per-request rate.
            "hashdesk_batch": {
                "batch_size": hashdesk["create_batch"]["batch_size"],
                "incidents_per_second": hashdesk["create_batch"]["incidents_per_second"],
                "p50_ms_per_request": hashdesk["create_batch"]["p50_ms"],
                "ratio_to_peer": round(
                    hashdesk["create_batch"]["incidents_per_second"]
                    / max(peer["create"]["requests_per_second"], 0.1),
                    1,
                ),
            },
        },
        "api_list_p50_ms_by_incidents": {
            name: {level: p50(results[name]) for level, results in levels.items()}
            for name, _path, _auth in API_LISTS
        },
        "queue_page_p50_ms_by_incidents": {
            name: {level: p50(results[name]) for level, results in levels.items()}
            for name, _path, _auth in QUEUE_PAGES
        },
        "django_helpdesk_at_10000": {
            "api_list_open_p50_ms": p50(peer["api_list_open"]),
            "ticket_list_page_p50_ms": p50(peer["ticket_list_page"]),
            "ticket_list_rows_p50_ms": p50(peer["ticket_list_rows"]),
        },
        "target_p50_ms": TARGET_MS,
    }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per target, up to 100,000")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=16, help="connections for creation")
    parser.add_argument("--hashdesk-prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hashdesk-grow", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-max", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hashdesk-inspect", help=argparse.SUPPRESS)
    parser.add_argument("--credentials", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hashdesk_prepare is not None:
        print(json.dumps(hashdesk_prepare(args.hashdesk_prepare)))
        return 0
    if args.hashdesk_grow is not None:
        print(json.dumps(hashdesk_grow(args.hashdesk_grow, args.base_max)))
        return 0
    if args.hashdesk_inspect is not None:
        targets = json.loads(args.hashdesk_inspect)
        print(json.dumps(hashdesk_inspect(targets, json.loads(args.credentials))))
        return 0

    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    levels = QUICK_LEVELS if args.quick else LEVELS
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    peer = run_peer(args)
    hashdesk = run_hashdesk(args, levels)
    report = {
        "benchmark": "incidents",
        "what": "Hashdesk incidents vs django-helpdesk tickets: creation through the API, the "
        "agent's filtered list page and the API list, as the number of incidents grows",
        "server": f"granian WSGI, {WORKERS} worker processes each, SQLite (WAL)",
        "client": "bench/support/loadgen.py: asyncio raw HTTP/1.1 keep-alive, separate "
        f"process; creation with {args.connections} connections, lists with 1",
        "quick": args.quick,
        "seconds_per_target": args.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other work on the machine skews every figure; this says how busy it was.
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": _summary(hashdesk, peer),
        "hashdesk": hashdesk,
        "django_helpdesk": peer,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"Full results: {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
