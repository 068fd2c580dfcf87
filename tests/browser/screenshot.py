"""Take docs/screenshot.png: the demo agent's incident queue, as `make run` serves it.

    .venv/bin/python -m tests.browser.screenshot [--phone /tmp/phone.png]

Starts `hashdesk run` (web server, event server, worker) on free loopback ports with a fresh
data directory, which loads the demo organisation; signs in as the demo agent in Debian's
Chromium and photographs the incident queue; then stops the process tree with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hashdesk run exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


GALLERY = {
    "home": "/",
    "incident-queue": "/incidents/",
    "my-incidents": "/incidents/mine/",
    "report-incident": "/incidents/new/?service=vpn",
    "service-vpn": "/catalogue/vpn/",
    "service-sso": "/catalogue/single-sign-on/",
    "tokens": "/accounts/tokens/",
    "profile": "/accounts/profile/",
    "notifications": "/notifications/",
}


def photograph_gallery(browser: Any, base: str, email: str, password: str, folder: str) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        for width in (1280, 390):
            context = browser.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            page.goto(f"{base}/accounts/sign-in/")
            page.screenshot(path=f"{folder}/sign-in-{scheme}-{width}.png")
            page.get_by_label("Email address").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            for name, path in GALLERY.items():
                page.goto(base + path)
                page.screenshot(path=f"{folder}/{name}-{scheme}-{width}.png", full_page=True)
            context.close()
    print(f"wrote the gallery to {folder}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--phone", help="also photograph the phone width to this file")
    parser.add_argument(
        "--gallery", help="also photograph other pages, in light and dark, into this folder"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    web_port, events_port, notify_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    base = f"http://127.0.0.1:{web_port}"
    with tempfile.TemporaryDirectory(prefix="hashdesk-screenshot-") as data_dir:
        env = {
            **os.environ,
            "HASHDESK_DATA_DIR": data_dir,
            "HASHDESK_WEB_PORT": str(web_port),
            "HASHDESK_WEB_WORKERS": "1",
            "HASHDESK_EVENT_SERVER_PORT": str(events_port),
            "HASHDESK_EVENT_NOTIFY_PORT": str(notify_port),
            "HASHDESK_PUBLIC_URL": base,
        }
        for name in ("HASHDESK_DATABASE_URL", "HASHDESK_REDIS_URL"):
            env.pop(name, None)
        server = subprocess.Popen([sys.executable, "-m", "hashdesk.cli", "run"], env=env)
        try:
            wait_until_up(f"{base}/healthz", server)
            sys.path.insert(0, str(ROOT / "src"))
            os.environ.update(env)
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
            import django

            django.setup()
            from hashdesk.demo import DEMO_PASSWORD, demo_sign_ins

            agent = next(a for a in demo_sign_ins() if a.role.lower() == "agent")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                shots = [(args.out, {"width": 1440, "height": 1000}, 1)]
                if args.phone:
                    shots.append((args.phone, {"width": 390, "height": 844}, 2))
                for path, viewport, scale in shots:
                    context = browser.new_context(
                        viewport=viewport, device_scale_factor=scale, color_scheme="light"
                    )
                    page = context.new_page()
                    page.goto(f"{base}/accounts/sign-in/")
                    page.get_by_label("Email address").fill(agent.email)
                    page.get_by_label("Password").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_url(f"{base}/")
                    page.goto(f"{base}/incidents/")
                    page.wait_for_selector('[data-live-status="live"]', state="attached")
                    page.screenshot(path=path)
                    print(f"wrote {path}")
                    context.close()
                if args.gallery:
                    photograph_gallery(browser, base, agent.email, DEMO_PASSWORD, args.gallery)
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
