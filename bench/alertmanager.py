"""Benchmark: Alertmanager webhook batches of 1,000 alerts posted to a running web process.

A granian WSGI web process (one worker, as ``hashdesk web`` starts each) serves the receiver;
this process posts real-shaped v4 notifications to it over HTTP (httpx) and times each answer:

- **one_group**: one notification holding 1,000 firing alerts (one group key): one incident,
  1,000 alert rows, one report each for burst detection;
- **many_groups**: 1,000 alerts as 100 notifications of 10 alerts, each its own group key:
  100 incidents (posted one after another, as Alertmanager's dispatcher sends a group's
  notification when it is due);
- **repeat**: the one-group notification again (``repeat_interval``): deduplicated, nothing new;
- **resolve**: the one-group notification with every alert resolved: one incident resolved.

Each case runs ``--rounds`` times on fresh group keys; figures are the median. Runs on SQLite (a
fresh data directory) and again on PostgreSQL when it answers (a fresh database, dropped
afterwards). Results: bench/results/alertmanager.json. Usage::

    .venv/bin/python bench/alertmanager.py [--rounds 3] [--no-postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "alertmanager.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

ALERTS = 1_000
GROUPS = 100
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alert(n: int, status: str, round_: int) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "VPNTunnelDown",
            "service": "vpn",
            "severity": "warning",
            "instance": f"vpn-tunnel-{n}",
        },
        "annotations": {"summary": f"Tunnel {n} is down"},
        "startsAt": "2026-11-29T06:00:00.000000000Z",
        "endsAt": "2026-11-29T06:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org/graph",
        "fingerprint": f"{round_:04x}{n:012x}",
    }


def _notification(group_key: str, alerts: list[dict[str, Any]]) -> bytes:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return json.dumps(
        {
            "version": "4",
            "groupKey": group_key,
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "hashdesk",
            "groupLabels": {"alertname": "VPNTunnelDown", "service": "vpn"},
            "commonLabels": {"alertname": "VPNTunnelDown", "service": "vpn"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.org:9093",
            "alerts": alerts,
        }
    ).encode()


def _setup() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog import actions as catalog
    from hashdesk.integrations.alertmanager import actions as receivers

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    admin = accounts.do_create_user(
        None, email="admin@example.org", display_name="Admin", roles=["administrator"]
    )
    catalog.do_create_service(None, name="VPN", hashtag="vpn", visibility="public")
    _, token = receivers.do_create_receiver(admin, name="Bench", human_gate=False)
    return token


def _post(url: str, token: str, body: bytes) -> tuple[float, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - started, answer


def _case(seconds: list[float], alerts: int, requests: int) -> dict[str, Any]:
    median = statistics.median(seconds)
    return {
        "alerts": alerts,
        "requests": requests,
        "rounds": len(seconds),
        "seconds_median": round(median, 3),
        "seconds_all": [round(s, 3) for s in seconds],
        "alerts_per_second": round(alerts / median, 1),
    }


def measure(rounds: int) -> dict[str, Any]:
    token = _setup()
    from django.db import connection

    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-ws",
            "hashdesk.wsgi:application",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise SystemExit("the web process did not start") from None
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/integrations/alertmanager/"
        # Warm-up: the worker loads its modules and URL patterns.
        _post(url, token, _notification("warm-up", [_alert(0, "firing", 9999)]))
        figures: dict[str, list[float]] = {
            "one_group": [],
            "many_groups": [],
            "repeat": [],
            "resolve": [],
        }
        for round_ in range(rounds):
            firing = [_alert(n, "firing", round_) for n in range(ALERTS)]
            key = f'{{}}:{{round="{round_}"}}'
            seconds, answer = _post(url, token, _notification(key, firing))
            assert answer["outcome"] == "opened" and answer["new_alerts"] == ALERTS, answer
            figures["one_group"].append(seconds)
            seconds, answer = _post(url, token, _notification(key, firing))
            assert answer["outcome"] == "unchanged", answer
            figures["repeat"].append(seconds)
            resolved = [_alert(n, "resolved", round_) for n in range(ALERTS)]
            seconds, answer = _post(url, token, _notification(key, resolved))
            assert answer["outcome"] == "resolved", answer
            figures["resolve"].append(seconds)
            per_group = ALERTS // GROUPS
            total = 0.0
            for group in range(GROUPS):
                alerts = [
                    _alert(group * per_group + n, "firing", round_ + 100) for n in range(per_group)
                ]
                seconds, answer = _post(url, token, _notification(f"many-{round_}-{group}", alerts))
                assert answer["outcome"] == "opened", answer
                total += seconds
            figures["many_groups"].append(total)
    finally:
        web.terminate()
        web.wait(15)
    return {
        "database": connection.vendor,
        "cases": {
            "one_group": _case(figures["one_group"], ALERTS, 1),
            "many_groups": _case(figures["many_groups"], ALERTS, GROUPS),
            "repeat": _case(figures["repeat"], ALERTS, 1),
            "resolve": _case(figures["resolve"], ALERTS, 1),
        },
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    if "cases" not in run:
        return run
    return {f"{name}_seconds": case["seconds_median"] for name, case in run["cases"].items()} | {
        f"{name}_alerts_per_second": c["alerts_per_second"] for name, c in run["cases"].items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.rounds)))
        return 0

    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        ["--rounds", str(args.rounds)],
        name="alertmanager",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
        extra_env={
            # Every batch is measured, none refused; the web worker's log stays quiet.
            "HASHDESK_RATE_ALERTMANAGER_PER_MINUTE": "1000000",
            "HASHDESK_LOG_LEVEL": "ERROR",
            "HASHDESK_TASKS_IMMEDIATE": "0",
        },
    )
    report = {
        "benchmark": "alertmanager",
        "what": "Alertmanager v4 webhook notifications of 1,000 alerts posted over HTTP to one "
        "granian WSGI web worker: one group of 1,000, 100 groups of 10, the same group "
        "repeated, and all 1,000 resolved",
        "machine": runs_on.machine(load_before),
        "summary": {name: _summary(run) for name, run in runs.items()},
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
