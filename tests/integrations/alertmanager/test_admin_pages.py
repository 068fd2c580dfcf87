"""The administrators' receiver pages: token shown once, settings, mappings, the notification
log, audit rows, and nobody else allowed in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.integrations.alertmanager.models import AlertReceiver, ServiceMapping
from tests.integrations.alertmanager.conftest import alert, notification


def test_an_administrator_adds_a_receiver_and_sees_its_token_once(
    administrator: User, vpn_service: Service, client: Client, post: Callable[..., Any]
) -> None:
    client.force_login(administrator)
    # Administrators reach the receivers from the integrations overview (account menu).
    overview = client.get("/integrations/").content.decode()
    assert 'href="/integrations/alertmanager/receivers/"' in overview
    response = client.post(
        "/integrations/alertmanager/receivers/new",
        {
            "name": "Production Prometheus",
            "slug": "prod",
            "service_label": "service",
            "unknown_policy": "reject",
            "resolve_policy": "resolve",
            "human_gate": "on",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token in response.content.decode()
    receiver = AlertReceiver.objects.get(slug="prod")
    assert receiver.token_hash != token and token not in receiver.token_hash
    assert AuditEntry.objects.filter(action="alertmanager.receiver_create").count() == 1

    detail = client.get("/integrations/alertmanager/receivers/prod/").content.decode()
    assert token not in detail and receiver.token_hint in detail

    # The token works on the receiver's own address and on the bare one.
    for path in ("/integrations/alertmanager/prod/", "/integrations/alertmanager/"):
        assert post(token, notification([alert("a1")]), path=path).status_code == 200
    log = client.get("/integrations/alertmanager/receivers/prod/").content.decode()
    assert "Opened an incident" in log and "Nothing new" in log


def test_settings_mappings_and_token_rotation_are_audited(
    administrator: User,
    vpn_service: Service,
    client: Client,
    make_receiver: Any,
    post: Callable[..., Any],
) -> None:
    receiver, old_token = make_receiver()
    client.force_login(administrator)
    base = f"/integrations/alertmanager/receivers/{receiver.slug}/"
    saved = client.post(
        base,
        {
            "name": "Renamed",
            "service_label": "job",
            "unknown_policy": "reject",
            "resolve_policy": "record",
        },
    )
    assert saved.status_code == 302
    receiver.refresh_from_db()
    assert (receiver.name, receiver.service_label, receiver.human_gate) == ("Renamed", "job", False)
    bad = client.post(
        base,
        {
            "name": "X",
            "service_label": "not a label",
            "unknown_policy": "reject",
            "resolve_policy": "record",
        },
    )
    assert bad.status_code == 400

    client.post(base + "mappings", {"label_value": "openvpn", "service": vpn_service.pk})
    mapping = ServiceMapping.objects.get()
    client.post(base + f"mappings/{mapping.pk}/remove")
    assert not ServiceMapping.objects.exists()

    rotated = client.post(base + "rotate")
    new_token = rotated.context["token"]
    assert post(old_token, notification([alert("a1", service="")])).status_code == 401
    assert post(new_token, notification([alert("a1", service="")])).status_code == 422
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "alertmanager.receiver_update",
        "alertmanager.mapping_set",
        "alertmanager.mapping_remove",
        "alertmanager.token_rotate",
    } <= actions


def test_only_administrators_reach_the_pages(
    vpn_agent: User, client: Client, make_receiver: Any
) -> None:
    receiver, _ = make_receiver()
    client.force_login(vpn_agent)
    for path in ("", "new", f"{receiver.slug}/"):
        assert client.get(f"/integrations/alertmanager/receivers/{path}").status_code == 403
    assert (
        client.post(f"/integrations/alertmanager/receivers/{receiver.slug}/rotate").status_code
        == 403
    )
