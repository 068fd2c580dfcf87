"""Importing services, people and historical incidents: page, API and command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import Team, User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.cli import main as hashdesk_cli
from hashdesk.core.models import Event, OutboxMessage
from hashdesk.incidents.models import Incident, IncidentSlaClock
from hashdesk.integrations.transfer import parsing
from hashdesk.integrations.transfer.models import StagedImport
from hashdesk.notify.models import Notification
from hashdesk.wall.models import Post
from tests.api.support import assert_problem, raw_token

SERVICES_CSV = (
    "\ufeffname,hashtag,slug,category,owner_team,criticality,visibility,depends_on\n"
    "Mail,mail,mail,Communication,network,high,internal,\n"
    "Calendar,calendar,calendar,Communication,,medium,public,mail\n"
)


def counts() -> tuple[int, ...]:
    return (
        Service.objects.count(),
        User.objects.count(),
        Incident.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
    )


_TOKENS: dict[int, str] = {}


def api(person: User) -> dict[str, str]:
    """A bearer token for ``person``, made once per test (making one writes audit rows)."""
    if person.pk not in _TOKENS:
        _TOKENS[person.pk] = raw_token(person, "write")
    return {"HTTP_AUTHORIZATION": f"Bearer {_TOKENS[person.pk]}"}


@pytest.fixture(autouse=True)
def _fresh_tokens() -> None:
    _TOKENS.clear()


def post_file(person: User, kind: str, body: str | bytes, media: str, **query: str) -> Any:
    path = f"/api/v1/imports/{kind}" + ("?dry_run=true" if query.get("dry_run") else "")
    return Client().post(path, data=body, content_type=media, **api(person))


@pytest.mark.django_db
def test_dry_run_checks_every_row_and_changes_nothing(
    administrator: User, network_team: Team
) -> None:
    api(administrator)
    before = counts()
    response = post_file(administrator, "services", SERVICES_CSV, "text/csv", dry_run="1")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report == {
        "kind": "services",
        "dry_run": True,
        "applied": False,
        "total": 2,
        "valid": 2,
        "rejected": 0,
        "errors": [],
    }
    assert counts() == before


@pytest.mark.django_db
def test_apply_creates_services_with_owner_category_and_dependencies(
    administrator: User, network_team: Team
) -> None:
    response = post_file(administrator, "services", SERVICES_CSV, "text/csv")
    assert response.status_code == 201, response.content
    assert response.json()["applied"] is True
    calendar = Service.objects.get(slug="calendar")
    assert calendar.category is not None and calendar.category.name == "Communication"
    assert [s.slug for s in calendar.depends_on.all()] == ["mail"]
    assert Service.objects.get(slug="mail").owner_team == network_team
    entry = AuditEntry.objects.filter(action="transfer.import").get()
    assert entry.actor == administrator
    assert entry.after == {"kind": "services", "rows": 2, "file": "upload.csv"}


@pytest.mark.django_db
def test_rejected_rows_are_reported_by_row_and_field_and_nothing_is_written(
    administrator: User, vpn_service: Service
) -> None:
    people = [
        {"email": "ana@example.test", "display_name": "Ana", "roles": ["agent"]},
        {"email": "bad", "display_name": "No address"},
        {"email": "ben@example.test", "display_name": "Ben", "roles": "wizard"},
        {"email": "cara@example.test", "display_name": "Cara", "teams": ["nowhere"]},
    ]
    api(administrator)
    before = counts()
    response = post_file(administrator, "people", json.dumps(people), "application/json")
    problem = assert_problem(response, 422)
    assert [(e["row"], e["field"]) for e in problem["report"]["errors"]] == [
        (2, "email"),
        (3, "roles"),
        (4, "teams"),
    ]
    assert problem["errors"][0]["field"] == "rows[2].email"
    assert problem["report"]["valid"] == 1
    assert counts() == before


@pytest.mark.django_db
def test_historical_incidents_keep_their_history_and_tell_nobody(
    administrator: User, requester: User, vpn_service: Service
) -> None:
    rows = [
        {
            "title": "VPN down in building B",
            "service": "vpn",
            "reporter": requester.email,
            "impact": 1,
            "urgency": 1,
            "priority": 2,
            "state": "closed",
            "created_at": "2024-03-01T09:30:00Z",
            "resolved_at": "2024-03-01T11:00:00+00:00",
        },
        {
            "title": "VPN slow",
            "service": "vpn",
            "reporter": requester.email,
            "created_at": "2024-04-02T08:00:00Z",
        },
    ]
    api(administrator)
    events, outbox, notes, posts = (
        Event.objects.count(),
        OutboxMessage.objects.count(),
        Notification.objects.count(),
        Post.objects.count(),
    )
    response = post_file(administrator, "incidents", json.dumps(rows), "application/json")
    assert response.status_code == 201, response.content
    closed = Incident.objects.get(title="VPN down in building B")
    assert (closed.state, closed.priority) == ("closed", 2)
    assert closed.created_at.isoformat() == "2024-03-01T09:30:00+00:00"
    assert closed.resolved_at is not None and closed.resolved_at.hour == 11
    assert closed.closed_at == closed.resolved_at
    assert Incident.objects.get(title="VPN slow").state == "new"
    assert not IncidentSlaClock.objects.filter(incident__title__startswith="VPN").exists()
    assert Event.objects.count() == events
    assert OutboxMessage.objects.count() == outbox
    assert Notification.objects.count() == notes
    assert Post.objects.count() == posts
    assert AuditEntry.objects.filter(action="incident.create").count() == 2


@pytest.mark.django_db
def test_historical_dates_are_checked(
    administrator: User, requester: User, vpn_service: Service
) -> None:
    rows = [
        {"title": "a", "service": "vpn", "reporter": requester.email, "state": "resolved"},
        {
            "title": "b",
            "service": "vpn",
            "reporter": requester.email,
            "created_at": "2999-01-01T00:00:00Z",
        },
        {"title": "c", "service": "vpn", "reporter": requester.email, "created_at": "yesterday"},
        {"title": "d", "service": "nope", "reporter": requester.email},
        {"title": "e", "service": "vpn", "reporter": requester.email, "state": "lost"},
    ]
    response = post_file(
        administrator, "incidents", json.dumps(rows), "application/json", dry_run="1"
    )
    report = response.json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (1, "resolved_at"),
        (2, "created_at"),
        (3, "created_at"),
        (4, "service"),
        (5, "state"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "media", "status", "words"),
    [
        ('name,hashtag\n"Mail,mail\n', "text/csv", 422, "cannot be read"),
        ("name,colour\nMail,blue\n", "text/csv", 422, "Unknown column 'colour'"),
        ("hashtag\nmail\n", "text/csv", 422, "'name' is required"),
        ('[{"name": "Mail", ', "application/json", 422, "cannot be read"),
        ('{"name": "Mail"}', "application/json", 422, "list of objects"),
        (b"name,hashtag\n\xff\xfe,x\n", "text/csv", 422, "not UTF-8"),
        ("name,hashtag\n", "text/csv", 422, "no rows"),
        ("<xml/>", "application/xml", 415, "text/csv"),
    ],
)
def test_unreadable_files_are_refused_as_problems(
    administrator: User, body: str | bytes, media: str, status: int, words: str
) -> None:
    api(administrator)
    before = counts()
    problem = assert_problem(post_file(administrator, "services", body, media), status)
    assert words in problem["detail"]
    assert counts() == before


@pytest.mark.django_db
def test_too_many_rows_and_too_big_files_are_refused(
    administrator: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "MAX_ROWS", 3)
    body = "name,hashtag\n" + "".join(f"S{i},s{i}\n" for i in range(4))
    assert_problem(post_file(administrator, "services", body, "text/csv"), 413)
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 20)
    assert_problem(post_file(administrator, "services", body, "text/csv"), 413)
    assert not Service.objects.exists()


@pytest.mark.django_db
def test_only_administrators_import(vpn_agent: User, requester: User) -> None:
    assert_problem(post_file(vpn_agent, "services", SERVICES_CSV, "text/csv"), 403)
    assert_problem(post_file(requester, "people", "email\nx@example.test\n", "text/csv"), 403)
    assert_problem(post_file(requester, "planets", SERVICES_CSV, "text/csv"), 422)


@pytest.mark.django_db
def test_page_checks_then_applies_the_reviewed_file(
    administrator: User, vpn_agent: User, network_team: Team
) -> None:
    browser = Client()
    browser.force_login(administrator)
    page = browser.get("/integrations/transfer/import/")
    assert page.status_code == 200
    assert b"<h1>Import data</h1>" in page.content
    upload = _upload("services.csv", SERVICES_CSV)
    checked = browser.post("/integrations/transfer/import/", {"kind": "services", "file": upload})
    assert checked.status_code == 200
    assert b"2 valid, 0 rejected" in checked.content
    assert not Service.objects.filter(slug="mail").exists()
    staged = StagedImport.objects.get()
    apply_url = f"/integrations/transfer/import/{staged.pk}/apply"
    assert apply_url.encode() in checked.content
    # Somebody else cannot apply (nor see) the administrator's staged file.
    other = Client()
    other.force_login(vpn_agent)
    assert other.post(apply_url).status_code == 403
    applied = browser.post(apply_url)
    assert applied.status_code == 200
    assert b"Imported" in applied.content
    assert Service.objects.filter(slug__in=["mail", "calendar"]).count() == 2
    assert not StagedImport.objects.exists()


@pytest.mark.django_db
def test_page_report_lists_rejected_rows_and_downloads_as_csv(administrator: User) -> None:
    browser = Client()
    browser.force_login(administrator)
    body = "email,display_name\nana@example.test,Ana\nnot-an-address,Bad\n"
    checked = browser.post(
        "/integrations/transfer/import/", {"kind": "people", "file": _upload("people.csv", body)}
    )
    assert b"1 valid, 1 rejected" in checked.content
    assert re.search(rb"<th scope=\"row\" data-label=\"Row\">3</th>", checked.content)
    staged = StagedImport.objects.get()
    assert f"/integrations/transfer/import/{staged.pk}/report.csv".encode() in checked.content
    assert b"Apply this import" not in checked.content
    report = browser.get(f"/integrations/transfer/import/{staged.pk}/report.csv")
    assert report["Content-Type"].startswith("text/csv")
    lines = report.content.decode().splitlines()
    assert lines[0] == "row,field,message"
    assert lines[1].startswith("3,email,")
    assert not User.objects.filter(email="ana@example.test").exists()


@pytest.mark.django_db
def test_command_line_dry_run_and_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], network_team: Team
) -> None:
    path = tmp_path / "services.csv"
    path.write_text(SERVICES_CSV, encoding="utf-8")
    assert hashdesk_cli(["import", "services", str(path), "--dry-run"]) == 0
    assert "2 valid, 0 rejected" in capsys.readouterr().out
    assert not Service.objects.filter(slug="mail").exists()
    assert hashdesk_cli(["import", "services", str(path)]) == 0
    assert Service.objects.filter(slug__in=["mail", "calendar"]).count() == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert hashdesk_cli(["import", "people", str(bad)]) == 2
    assert "Item 1 is not an object" in capsys.readouterr().err


def _upload(name: str, text: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
