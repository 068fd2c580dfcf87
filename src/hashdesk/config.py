"""Reading Hashdesk's configuration from the environment.

Everything that differs between the embedded single-node mode and a scaled-out deployment comes
from ``HASHDESK_*`` environment variables; this module turns them into typed values once, at
settings import, so the rest of the code reads ``django.conf.settings`` only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigurationError(RuntimeError):
    """Raised when the environment asks for something unsafe or inconsistent."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    path = Path(env_str("HASHDESK_DATA_DIR", "var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path, *, production: bool) -> str:
    """The explicit secret, or one generated once into the data directory (embedded mode only)."""
    explicit = env_str("HASHDESK_SECRET_KEY")
    if explicit:
        if production and len(explicit) < 50:
            raise ConfigurationError("HASHDESK_SECRET_KEY must be at least 50 characters")
        return explicit
    if production:
        raise ConfigurationError("production mode needs HASHDESK_SECRET_KEY")
    key_file = directory / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()
