"""Exporting lists (pages and API) and a person's own data."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.incidents.actions import do_create_incident
from hashdesk.wall import actions as wall_actions
from tests.api.support import raw_token


def signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def body(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response))))


@pytest.fixture
def incidents(
    requester: User, other_requester: User, vpn_service: Service, security_service: Service
) -> None:
    do_create_incident(
        requester,
        title='=HYPERLINK("http://evil.test","click")',
        description="",
        service=vpn_service,
    )
    do_create_incident(
        None,
        title="Phishing campaign under investigation",
        description="",
        service=security_service,
        reporter=other_requester,
    )


@pytest.mark.django_db
def test_a_requesters_incident_export_holds_only_what_they_may_see(
    requester: User, incidents: None
) -> None:
    response = signed_in(requester).get("/integrations/transfer/export/incidents.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["service"] for row in rows] == ["vpn"]
    # Spreadsheets would run it as a formula: escaped.
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.test","click")'


@pytest.mark.django_db
def test_staff_export_follows_the_queue_filters(vpn_agent: User, incidents: None) -> None:
    agent = signed_in(vpn_agent)
    everything = csv_rows(agent.get("/integrations/transfer/export/incidents.csv?queue=all"))
    assert {row["service"] for row in everything} == {"vpn", "security-operations"}
    only_vpn = csv_rows(
        agent.get("/integrations/transfer/export/incidents.csv?queue=all&service=vpn")
    )
    assert [row["service"] for row in only_vpn] == ["vpn"]


@pytest.mark.django_db
def test_export_reads_in_a_bounded_number_of_queries(
    administrator: User, vpn_service: Service, django_assert_max_num_queries: Any
) -> None:
    for number in range(40):
        service = catalog_actions.do_create_service(
            None, name=f"Service {number}", hashtag=f"svc{number}"
        )
        catalog_actions.do_add_dependency(None, service, vpn_service)
    client = signed_in(administrator)
    with django_assert_max_num_queries(8):
        rows = json.loads(body(client.get("/integrations/transfer/export/services.json")))
    assert len(rows) == 41
    assert rows[0]["depends_on"] == ["vpn"]


@pytest.mark.django_db
def test_api_export_as_json_and_refusals(
    requester: User, administrator: User, vpn_service: Service, security_service: Service
) -> None:
    token = {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester, 'read')}"}
    response = Client().get("/api/v1/exports/services?format=json", **token)
    assert response.status_code == 200
    assert [item["slug"] for item in json.loads(body(response))] == ["vpn"]
    assert Client().get("/api/v1/exports/people", **token).status_code == 403
    assert Client().get("/api/v1/exports/planets", **token).status_code == 404
    assert Client().get("/api/v1/exports/services?format=xls", **token).status_code == 422
    people = signed_in(administrator).get("/integrations/transfer/export/people.csv")
    assert {row["email"] for row in csv_rows(people)} >= {requester.email, administrator.email}


@pytest.mark.django_db
def test_personal_export_has_their_data_and_nothing_of_others(
    requester: User, other_requester: User, vpn_service: Service, settings: Any
) -> None:
    do_create_incident(requester, title="My laptop VPN", description="", service=vpn_service)
    do_create_incident(other_requester, title="Their VPN", description="", service=vpn_service)
    mine = wall_actions.do_post(requester, body="#vpn is slow for me")
    theirs = wall_actions.do_post(other_requester, body="#vpn fine here")
    wall_actions.do_react(requester, theirs, "like")
    wall_actions.do_follow(requester, "service", vpn_service)
    raw = raw_token(requester, "read")
    response = signed_in(requester).get("/integrations/transfer/me/export")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["profile"]["email"] == requester.email
    assert [i["title"] for i in document["incidents_reported"]] == ["My laptop VPN"]
    assert [p["id"] for p in document["posts"]] == [mine.pk]
    assert document["reactions"][0]["post_id"] == theirs.pk
    assert document["follows"][0]["kind"] == "service"
    assert document["api_tokens"][0]["prefix"]
    text = response.content.decode()
    assert other_requester.email not in text and "Their VPN" not in text
    assert raw not in text and raw.split(".")[-1] not in text
    assert "secret_hash" not in text and "password" not in text
    assert AuditEntry.objects.filter(action="transfer.personal_export", actor=requester).exists()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "transfer_personal_export": (1, 3600)}
    assert signed_in(requester).get("/integrations/transfer/me/export").status_code == 429


@pytest.mark.django_db
def test_list_pages_link_their_exports_with_their_filters(
    administrator: User, requester: User
) -> None:
    admin = signed_in(administrator)
    people = admin.get(reverse("accounts:people") + "?q=ana").content.decode()
    assert 'href="/integrations/transfer/export/people.csv?q=ana"' in people
    services = admin.get(reverse("catalog:list")).content.decode()
    assert 'href="/integrations/transfer/export/services.json"' in services
    profile = signed_in(requester).get(reverse("accounts:profile")).content.decode()
    assert 'href="/integrations/transfer/me/export"' in profile
