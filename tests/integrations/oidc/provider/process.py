"""Starting the test OpenID provider in its own process (used by the tests and by
bench/oidc_sign_in.py): a fresh RSA signing key, a migrated SQLite file, registered client."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.realtime.processes import ChildProcess, free_port

REPOSITORY = Path(__file__).resolve().parents[4]
PROVIDER_PASSWORD = "provider-password-1234"


@dataclass
class Provider:
    issuer: str
    directory: Path
    client_id: str
    client_secret: str
    private_key_pem: bytes
    process: ChildProcess = field(repr=False)

    def set_groups(self, username: str, groups: list[str]) -> None:
        """Change a person's groups at the provider (straight in its database: the provider
        reads them afresh for every token it issues)."""
        with sqlite3.connect(self.directory / "provider.sqlite3") as db:
            (user_id,) = db.execute(
                "SELECT id FROM auth_user WHERE username = ?", (username,)
            ).fetchone()
            db.execute("DELETE FROM auth_user_groups WHERE user_id = ?", (user_id,))
            for name in groups:
                db.execute("INSERT OR IGNORE INTO auth_group (name) VALUES (?)", (name,))
                db.execute(
                    "INSERT INTO auth_user_groups (user_id, group_id) "
                    "SELECT ?, id FROM auth_group WHERE name = ?",
                    (user_id, name),
                )

    def set_email(self, username: str, email: str, *, verified: bool = True) -> None:
        """Change a person's email address at the provider, verified or not (membership of
        the ``email-unverified`` group, see validators.py)."""
        with sqlite3.connect(self.directory / "provider.sqlite3") as db:
            db.execute("UPDATE auth_user SET email = ? WHERE username = ?", (email, username))
            (user_id,) = db.execute(
                "SELECT id FROM auth_user WHERE username = ?", (username,)
            ).fetchone()
            db.execute("INSERT OR IGNORE INTO auth_group (name) VALUES ('email-unverified')")
            (group_id,) = db.execute(
                "SELECT id FROM auth_group WHERE name = 'email-unverified'"
            ).fetchone()
            db.execute(
                "DELETE FROM auth_user_groups WHERE user_id = ? AND group_id = ?",
                (user_id, group_id),
            )
            if not verified:
                db.execute(
                    "INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)",
                    (user_id, group_id),
                )

    def hashdesk_settings(self, **overrides: Any) -> dict[str, Any]:
        """Django settings pointing Hashdesk at this provider (names as in settings.py)."""
        values: dict[str, Any] = {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_SCOPES": ["openid", "email", "profile", "groups"],
            "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_ROLE_MAP": [("it-agents", "agent"), ("it-admins", "administrator")],
            "OIDC_CREATE_USERS": True,
            "OIDC_PROVIDER_NAME": "Example Corp",
            "OIDC_ONLY": False,
        }
        values.update(overrides)
        return values


def _environment(directory: Path, issuer: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.integrations.oidc.provider.settings",
        "OIDC_PROVIDER_DIR": str(directory),
        "OIDC_PROVIDER_ISSUER": issuer,
        "PYTHONPATH": str(REPOSITORY),
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def running_provider(
    *,
    redirect_uri: str,
    people: list[tuple[str, str, list[str]]],
    post_logout_redirect_uri: str = "",
) -> Iterator[Provider]:
    """The provider serving on a free loopback port; ``people`` are (username, email, groups),
    all with PROVIDER_PASSWORD. ``post_logout_redirect_uri`` is registered for RP-initiated
    logout."""
    # In memory where there is /dev/shm: migrating the provider's database waits on the disk.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    directory = Path(tempfile.mkdtemp(prefix="hashdesk-oidc-provider-", dir=shm))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / "signing-key.pem").write_bytes(pem)
    (directory / "secret").write_text(secrets.token_urlsafe(50))
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    client_id, client_secret = "hashdesk", secrets.token_urlsafe(32)
    spec = {
        "client": {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        },
        "people": [
            {"username": u, "email": e, "groups": g, "password": PROVIDER_PASSWORD}
            | {"first_name": u.title()}
            for u, e, g in people
        ],
    }
    environment = _environment(directory, issuer)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integrations.oidc.provider.manage",
            "setup",
            json.dumps(spec),
        ],
        cwd=REPOSITORY,
        env=environment,
        check=True,
        timeout=120,
    )
    process = ChildProcess(
        "oidc-provider",
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=environment,
    )
    try:
        process.wait_for_http(f"{issuer}/.well-known/openid-configuration", timeout=60)
        yield Provider(issuer, directory, client_id, client_secret, pem, process)
    finally:
        process.stop()
        shutil.rmtree(directory, ignore_errors=True)
