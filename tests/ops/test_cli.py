"""The `hashdesk` command line: audit verification, administrators, pass-through, errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate

from hashdesk import cli
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service


def test_audit_verify_passes_on_an_intact_trail(
    vpn_service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = AuditEntry.objects.count()
    assert rows >= 3
    assert cli.main(["audit", "verify"]) == 0
    assert f"Audit trail intact: {rows} rows checked." in capsys.readouterr().out


def test_audit_verify_names_the_first_altered_row(
    vpn_service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    AuditEntry.objects.filter(sequence=2).update(after={"name": "Something else"})
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "Audit trail BROKEN at row 2" in err
    assert "altered" in err
    assert "1 rows before it are intact" in err


def test_audit_verify_names_a_deleted_row(
    vpn_service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    AuditEntry.objects.filter(sequence=2).delete()
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at row 2" in err
    assert "deleted" in err


def test_createadmin_makes_an_administrator_who_can_sign_in(
    db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HASHDESK_ADMIN_PASSWORD", "a-long-admin-passphrase")
    code = cli.main(["createadmin", "--email", "Ops@Example.test", "--name", "Operations"])
    assert code == 0
    assert "Administrator ops@example.test created." in capsys.readouterr().out
    admin = User.objects.get(email="ops@example.test")
    assert admin.has_role("administrator")
    assert authenticate(None, email="ops@example.test", password="a-long-admin-passphrase")


def test_createadmin_refuses_a_duplicate_and_a_weak_password(
    administrator: User, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HASHDESK_ADMIN_PASSWORD", "another-long-passphrase")
    assert cli.main(["createadmin", "--email", administrator.email, "--name", "Again"]) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("HASHDESK_ADMIN_PASSWORD", "12345")
    assert cli.main(["createadmin", "--email", "new@example.test", "--name", "New"]) == 1
    assert "Not created" in capsys.readouterr().err
    assert not User.objects.filter(email="new@example.test").exists()


def test_manage_passes_everything_to_django(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manage", "check", "--tag", "models"]) == 0
    assert "no issues" in capsys.readouterr().out


def test_outbox_status_lists_counts(db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "Pending" in out and "Failed (gave up)" in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_worker_and_run_argv_use_this_python(settings: Any) -> None:
    argv = cli._granian_argv(settings)
    assert argv[:3] == [cli.sys.executable, "-m", "granian"]
    assert argv[argv.index("--interface") + 1] == "wsgi"
    assert argv[argv.index("--workers") + 1] == str(settings.WEB_WORKERS)
    assert argv[-1] == "hashdesk.wsgi:application"
