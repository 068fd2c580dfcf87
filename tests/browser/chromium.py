"""Where Debian's Chromium is and how the tests start it (no Django imports: the screenshot
script uses this before Django is set up)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
