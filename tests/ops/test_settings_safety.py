"""Production mode refuses unsafe configurations, and passes `check --deploy` when complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "x" * 20 + "-production-secret-of-sufficient-length-123"


def _environment(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HASHDESK_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        HASHDESK_DATA_DIR=str(tmp_path),
        HASHDESK_PRODUCTION="1",
        HASHDESK_SECRET_KEY=SECRET,
        HASHDESK_ALLOWED_HOSTS="desk.example.org",
        HASHDESK_HTTPS="1",
        HASHDESK_PUBLIC_URL="https://desk.example.org",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import hashdesk.settings"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"HASHDESK_SECRET_KEY": None}, "production mode needs HASHDESK_SECRET_KEY"),
        ({"HASHDESK_SECRET_KEY": "short"}, "at least 50 characters"),
        ({"HASHDESK_ALLOWED_HOSTS": None}, "production mode needs HASHDESK_ALLOWED_HOSTS"),
        ({"HASHDESK_HTTPS": None}, "HASHDESK_HTTPS=1"),
        ({"HASHDESK_DEBUG": "1"}, "HASHDESK_DEBUG cannot be on in production"),
    ],
    ids=["no-secret", "short-secret", "no-hosts", "no-https", "debug"],
)
def test_production_mode_refuses_to_start_unsafely(
    tmp_path: Path, overrides: dict[str, str | None], complaint: str
) -> None:
    result = _import_settings(_environment(tmp_path, **overrides))
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert complaint in result.stderr
    # No secret is invented in production: an operator must give one.
    assert not (tmp_path / "secret_key").exists()


def test_the_cli_reports_configuration_errors_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hashdesk.cli", "check"],
        env=_environment(tmp_path, HASHDESK_HTTPS=None),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hashdesk: configuration error: production mode needs HASHDESK_HTTPS=1 (served behind TLS)"
    )


def test_check_deploy_passes_with_a_full_production_environment(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hashdesk.cli", "check", "--deploy"],
        env=_environment(tmp_path),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Only the HSTS preload reminder is silenced (preloading is the operator's choice).
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_hsts_preload_can_be_chosen_and_then_passes_unsilenced(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hashdesk.cli", "check", "--deploy"],
        env=_environment(tmp_path, HASHDESK_HSTS_PRELOAD="1"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_on_warnings_outside_production(tmp_path: Path) -> None:
    env = _environment(tmp_path, HASHDESK_PRODUCTION=None, HASHDESK_HTTPS=None)
    result = subprocess.run(
        [sys.executable, "-m", "hashdesk.cli", "check", "--deploy"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "security.W004" in result.stderr  # no HSTS without HTTPS
