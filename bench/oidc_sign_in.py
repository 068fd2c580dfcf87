"""Benchmark: single sign-on through a real OpenID provider, as a browser does it over HTTP.

A granian WSGI web process of Hashdesk (one worker) and the test provider
(tests/integrations/oidc/provider, django-oauth-toolkit under ``runserver``) run side by side
on loopback. For each of ``--people`` provider accounts a fresh browser (httpx) presses "Sign
in with …", signs in and consents at the provider, and returns to Hashdesk's callback; then
does it all again. Timed on Hashdesk's side only:

- **login**: ``/integrations/oidc/login/`` answering with the redirect (discovery cached);
- **callback_first**: the callback at a first sign-in: code exchange, ID token validation,
  account created just in time with the mapped role, session;
- **callback_again**: the callback at the next sign-in (account found by ``sub``).

The callback includes the provider's token endpoint round trip (a Django view hashing the
client secret), which dominates. Embedded mode (SQLite). Results: bench/results/oidc_sign_in.json.
Usage::

    .venv/bin/python bench/oidc_sign_in.py [--people 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "oidc_sign_in.json"
sys.path.insert(0, str(ROOT))

from tests.integrations.oidc.conftest import _form  # noqa: E402
from tests.integrations.oidc.provider.process import (  # noqa: E402
    PROVIDER_PASSWORD,
    running_provider,
)
from tests.realtime.processes import free_port  # noqa: E402


def _summary(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _sign_in(web: str, username: str) -> tuple[float, float, httpx.Response]:
    with httpx.Client(follow_redirects=False, timeout=60) as browser:
        started = time.perf_counter()
        response = browser.get(f"{web}/integrations/oidc/login/")
        login_seconds = time.perf_counter() - started
        assert response.status_code == 302, response.text[:500]
        authorize = response.headers["location"]
        response = browser.get(authorize)
        login_url = urljoin(authorize, response.headers["location"])
        fields = _form(browser.get(login_url).text).fields
        fields |= {"username": username, "password": PROVIDER_PASSWORD}
        response = browser.post(login_url, data=fields)
        consent = _form(browser.get(urljoin(login_url, response.headers["location"])).text)
        response = browser.post(authorize, data={**consent.fields, **consent.buttons})
        callback = response.headers["location"]
        started = time.perf_counter()
        response = browser.get(callback)
        callback_seconds = time.perf_counter() - started
        assert response.status_code == 302 and browser.cookies.get("hashdesk_session"), response
        assert "sign-in" not in response.headers["location"], response.headers["location"]
        return login_seconds, callback_seconds, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=30)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-bench-oidc-"))
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    people = [(f"person{n}", f"person{n}@example.org", ["it-agents"]) for n in range(args.people)]
    figures: dict[str, list[float]] = {"login": [], "callback_first": [], "callback_again": []}
    try:
        with running_provider(
            redirect_uri=f"{web}/integrations/oidc/callback/", people=people
        ) as provider:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("HASHDESK_")},
                "HASHDESK_DATA_DIR": str(data_dir),
                "HASHDESK_PUBLIC_URL": web,
                "HASHDESK_RATE_LIMITS": "0",
                "HASHDESK_LOG_LEVEL": "WARNING",
                "HASHDESK_OIDC_ISSUER": provider.issuer,
                "HASHDESK_OIDC_CLIENT_ID": provider.client_id,
                "HASHDESK_OIDC_CLIENT_SECRET": provider.client_secret,
                "HASHDESK_OIDC_ROLE_MAP": "it-agents=agent,it-admins=administrator",
            }
            hashdesk = [sys.executable, "-m", "hashdesk.cli", "manage"]
            for command in (["migrate", "--verbosity", "0"], ["createcachetable"]):
                subprocess.run([*hashdesk, *command], env=env, cwd=ROOT, check=True)
            granian = ["granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port"]
            application = ["--workers", "1", "--no-ws", "hashdesk.wsgi:application"]
            server = subprocess.Popen(
                [sys.executable, "-m", *granian, str(port), *application],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        httpx.get(f"{web}/healthz", timeout=2)
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline or server.poll() is not None:
                            raise SystemExit("the web process did not start") from None
                        time.sleep(0.2)
                httpx.get(f"{web}/accounts/sign-in/")  # warm-up: modules, URL patterns
                for key in ("callback_first", "callback_again"):
                    for username, _, _ in people:
                        login_seconds, callback_seconds, _ = _sign_in(web, username)
                        figures["login"].append(login_seconds)
                        figures[key].append(callback_seconds)
            finally:
                server.terminate()
                server.wait(15)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {
        "benchmark": "oidc_sign_in",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "database": "sqlite",
        "people": args.people,
        "cases": {key: _summary(values) for key, values in figures.items()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
