"""Benchmark: suggest-as-you-type round trip through the real HTTP endpoints (target: p95 under
50 ms; docs/insights.md, "Deflection").

1. A fresh database (SQLite in a scratch data directory, or ``--database-url`` for PostgreSQL),
   migrated, with the services, agent and requester of bench/insights_similar.py, and
   ``--items`` generated index rows written by its loader (default 1,000,000: the size the
   similar-items figures were measured at), plus 300 real published public articles (one per
   subject and fault) so that the requester's panel has something to show.
2. granian in WSGI mode (as ``hashdesk web`` serves Hashdesk) on a free loopback port, on that
   database.
3. A real HTTP client (``http.client``, one keep-alive connection, one request at a time, as
   one browser tab) signed in as the **requester** types ``--reports`` reports into the
   incident form: each report is asked for as it grows, a word or two at a time (what the
   debounced panel sends), ``GET /insights/similar/?text=…&context=incident&service=<slug>`` —
   the server-rendered panel, including the impression counting for the deflection rate.
   The same texts then go to ``GET /api/v1/insights/similar`` with a bearer token.
   Round trip = from sending the request to having read the whole response; p50/p95/max.

Results: bench/results/suggest.json (``--output`` to change), one key per database. Usage::

    .venv/bin/python bench/suggest.py [--items 1000000] [--reports 150]
    .venv/bin/python bench/suggest.py --database-url postgres://postgres@127.0.0.1/hd_x
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "suggest.json"
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR / "support"))

from loadgen import free_port, granian, wait_until_serving  # noqa: E402

import insights_similar  # noqa: E402  (its loader, services and people)

WARMUP_REPORTS = 10
MIN_LENGTH = 3
ARTICLES = 300


def articles(owner: Any, services: list[Any], seed: int) -> int:
    """Real published public articles a requester may see (the generated index rows have no
    records behind them): one per subject and fault, on a service, indexed as in production."""
    import random

    from hashdesk.insights.index import index_many
    from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
    from hashdesk.knowledge.models import Article

    rng = random.Random(seed)
    pairs = [(s, f) for s in insights_similar.SUBJECTS for f in insights_similar.FAULTS]
    chosen = rng.sample(pairs, min(ARTICLES, len(pairs)))
    made = Article.objects.bulk_create(
        Article(
            number=f"KB-B{n:05d}",
            title=f"{subject} {fault}: what to try first",
            body=f"When the {subject} {fault}, restart it, then check the {subject} status page.",
            owner=owner,
            state=ArticleState.PUBLISHED,
            visibility=ArticleVisibility.PUBLIC,
        )
        for n, (subject, fault) in enumerate(chosen)
    )
    through = Article.services.through
    through.objects.bulk_create(
        through(article_id=article.pk, service_id=rng.choice(services).pk) for article in made
    )
    return index_many("article", Article.objects.filter(pk__in=[a.pk for a in made]))


def typing_steps(text: str) -> list[str]:
    """The texts the panel asks for while ``text`` is typed: every second word boundary (the
    300 ms debounce fires at typing pauses), and the whole text."""
    words = text.split()
    steps = [" ".join(words[:n]) for n in range(2, len(words), 2)]
    steps.append(text)
    return [step for step in dict.fromkeys(steps) if len(step) >= MIN_LENGTH]


def texts(count: int, seed: int) -> list[str]:
    generator = insights_similar.Generator(seed)
    found = []
    for _ in range(count):
        title, body = generator.report()
        found.append(body if generator.rng.random() < 0.7 else title)
    return found


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def drive(port: int, paths: list[str], headers: dict[str, str]) -> tuple[list[float], int]:
    """GET each path in turn on one keep-alive connection; (round trips in ms, non-empty)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings: list[float] = []
    non_empty = 0
    try:
        for path in paths:
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            timings.append((time.perf_counter() - began) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
            non_empty += bool(body.strip()) and body.strip() != b'{"items": []}'
    finally:
        connection.close()
    return timings, non_empty


def panel_paths(reports: list[tuple[str, Any]]) -> list[str]:
    return [
        "/insights/similar/?"
        + urllib.parse.urlencode({"text": step, "context": "incident", "service": service.slug})
        for text, service in reports
        for step in typing_steps(text)
    ]


def api_paths(reports: list[tuple[str, Any]]) -> list[str]:
    return [
        "/api/v1/insights/similar?"
        + urllib.parse.urlencode(
            {
                "text": step,
                "service": service.pk,
                "kinds": "known_error,incident,article,post",
                "limit": 8,
            }
        )
        for text, service in reports
        for step in typing_steps(text)
    ]


def demo(incidents: int, reports: int, seed: int) -> tuple[Any, list[tuple[str, Any]], float]:
    """The demo organisation (real incidents, articles, known errors, posts); a requester types
    reports like existing incidents (their titles, or title + description)."""
    import random

    from hashdesk.accounts.choices import STAFF_ROLES, Role
    from hashdesk.accounts.models import User
    from hashdesk.catalog.models import Service
    from hashdesk.core.visibility import visible_to
    from hashdesk.demo.loader import load_demo
    from hashdesk.incidents.models import Incident

    began = time.perf_counter()
    load_demo(incidents=incidents)
    load_s = time.perf_counter() - began
    rng = random.Random(seed)
    requester = (
        User.objects.filter(is_active=True, groups__name=Role.REQUESTER)
        .exclude(groups__name__in=[str(role) for role in STAFF_ROLES])
        .order_by("pk")
        .first()
    )
    # Reports on services the requester may choose in the form.
    services = visible_to(requester, Service.objects.all()).values("pk")
    ids = list(Incident.objects.filter(service__in=services).values_list("pk", flat=True))
    chosen = Incident.objects.filter(
        pk__in=rng.sample(ids, min(len(ids), reports + WARMUP_REPORTS))
    )
    typed = [
        (
            incident.title if rng.random() < 0.3 else f"{incident.title} {incident.description}",
            incident.service,
        )
        for incident in chosen.select_related("service")
    ]
    # About a third of the people type what a published article or known error covers.
    from hashdesk.knowledge.choices import ArticleState
    from hashdesk.knowledge.models import Article

    readable = visible_to(requester, Article.objects.filter(state=ArticleState.PUBLISHED))
    articles = list(readable.filter(services__in=services).distinct().prefetch_related("services"))
    for article in rng.sample(articles, min(len(articles), len(typed) // 2)):
        typed.append((article.title, article.services.all()[0]))
    rng.shuffle(typed)
    return requester, typed[: reports + WARMUP_REPORTS], load_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument(
        "--demo",
        type=int,
        default=0,
        metavar="INCIDENTS",
        help="instead of generated rows: the demo organisation with this many incidents "
        "(real records: a requester's panel shows real suggestions)",
    )
    parser.add_argument("--reports", type=int, default=150)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--data-dir", default="/tmp/hd-bench-suggest")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)
    data_dir = Path(args.data_dir)
    if not args.database_url:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "metrics").mkdir(exist_ok=True)
    os.environ["HASHDESK_RATE_LIMITS"] = "0"
    os.environ["HASHDESK_LOG_LEVEL"] = "WARNING"
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(data_dir / "metrics")
    insights_similar.setup_django(args.database_url, data_dir)
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)  # as `hashdesk` prepares an installation
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from hashdesk.accounts import actions as account_actions
    from hashdesk.insights.models import IndexedItem

    vendor = connection.vendor
    if args.demo:
        print(f"{vendor}: loading the demo with {args.demo} incidents", flush=True)
        requester, reports_and_services, load_s = demo(args.demo, args.reports, args.seed)
        items = IndexedItem.objects.count()
    else:
        print(f"{vendor}: loading {args.items} items", flush=True)
        agent, requester, services = insights_similar.people_and_services()
        load_s = insights_similar.load(args.items, services, args.seed)
        articles(agent, services, args.seed)
        items = args.items
        reports_and_services: list[tuple[str, Any]] = [
            (text, services[0]) for text in texts(args.reports + WARMUP_REPORTS, args.seed)
        ]
    print(f"loaded in {load_s:.1f} s ({items} index rows); serving", flush=True)
    browser = Client()
    browser.force_login(requester)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    _token, token = account_actions.do_create_api_token(requester, name="bench", scope="read")
    connection.close()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    port = free_port()
    server = granian(
        sys.executable,
        "hashdesk.wsgi:application",
        port,
        workers=args.workers,
        cwd=str(ROOT),
        env=env,
    )
    try:
        wait_until_serving(port, server)
        cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "Accept": "text/html"}
        bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        warm, reports = (
            reports_and_services[:WARMUP_REPORTS],
            reports_and_services[WARMUP_REPORTS:],
        )
        drive(port, panel_paths(warm), cookie)
        drive(port, api_paths(warm), bearer)
        print(f"typing {len(reports)} reports", flush=True)
        panel, panel_found = drive(port, panel_paths(reports), cookie)
        api, api_found = drive(port, api_paths(reports), bearer)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "database": vendor,
        "items": items,
        "data": f"demo organisation, {args.demo} incidents" if args.demo else "generated rows",
        "load_seconds": round(load_s, 1),
        "server": f"granian WSGI, {args.workers} worker processes",
        "client": "http.client, one keep-alive connection, sequential (one typing person)",
        "viewer": "requester (incident form context)",
        "generated_articles": 0 if args.demo else ARTICLES,
        "reports": len(reports),
        "panel": {**_summary(panel), "with_suggestions": panel_found},
        "api": {**_summary(api), "with_suggestions": api_found},
        "target_p95_ms": 50,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    output = Path(args.output)
    existing: dict[str, Any] = {}
    if output.exists():
        try:
            existing = json.loads(output.read_text())
        except ValueError:
            existing = {}
    existing[f"{vendor}-demo" if args.demo else vendor] = result
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
