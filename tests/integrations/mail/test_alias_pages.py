"""The mail alias pages (administrators only): list, add, edit, remove; refused input changes
nothing, and every change is audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.integrations.mail import actions
from hashdesk.integrations.mail.choices import AliasTarget
from hashdesk.integrations.mail.models import MailAlias
from tests.integrations.mail.conftest import DOMAIN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inbound_domain(settings: Any) -> None:
    settings.NOTIFY_REPLY_DOMAIN = DOMAIN
    settings.INBOUND_MAIL_DOMAINS = []


def signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def state() -> tuple[list[tuple[str, str, int | None, bool]], int]:
    aliases = list(MailAlias.objects.values_list("local_part", "target", "service", "is_active"))
    return aliases, AuditEntry.objects.filter(action__startswith="mail.alias.").count()


def test_administrator_adds_edits_and_removes_an_alias(
    administrator: User, vpn_service: Service, sso_service: Service
) -> None:
    client = signed_in(administrator)
    log = client.get(reverse("mail:log")).content.decode()
    assert f'href="{reverse("mail:aliases")}"' in log
    overview = client.get(reverse("integrations-overview")).content.decode()
    assert f'href="{reverse("mail:aliases")}"' in overview
    assert client.get(reverse("mail:alias-create")).status_code == 200

    added = client.post(
        reverse("mail:alias-create"),
        {"local_part": "Printers-Floor3", "target": "service", "service": vpn_service.pk,
         "is_active": "on"},
        follow=True,
    )  # fmt: skip
    assert added.status_code == 200
    alias = MailAlias.objects.get()
    assert (alias.local_part, alias.service, alias.is_active) == (
        "printers-floor3",
        vpn_service,
        True,
    )
    assert f"printers-floor3@{DOMAIN}" in added.content.decode()
    created = AuditEntry.objects.get(action="mail.alias.create")
    assert created.actor_id == administrator.pk
    assert created.after == {
        "local_part": "printers-floor3", "target": "service", "service_id": vpn_service.pk,
        "is_active": True,
    }  # fmt: skip

    edit_url = reverse("mail:alias-edit", args=[alias.pk])
    assert 'value="printers-floor3"' in client.get(edit_url).content.decode()
    client.post(edit_url, {"local_part": "printers-floor3", "target": "guess"})  # unchecked: off
    alias.refresh_from_db()
    assert (alias.target, alias.service, alias.is_active) == (AliasTarget.GUESS, None, False)
    updated = AuditEntry.objects.get(action="mail.alias.update")
    assert (updated.before["target"], updated.after["target"]) == ("service", "guess")
    assert updated.after["is_active"] is False

    delete_url = reverse("mail:alias-delete", args=[alias.pk])
    assert "Remove the alias printers-floor3@" in client.get(delete_url).content.decode()
    assert client.post(delete_url).status_code == 302
    assert not MailAlias.objects.exists()
    assert AuditEntry.objects.get(action="mail.alias.delete").before["local_part"] == (
        "printers-floor3"
    )


def test_an_alias_named_like_a_service_is_allowed_and_said_to_take_precedence(
    administrator: User, vpn_service: Service, sso_service: Service
) -> None:
    client = signed_in(administrator)
    page = client.post(
        reverse("mail:alias-create"),
        {"local_part": "vpn", "target": "service", "service": sso_service.pk, "is_active": "on"},
        follow=True,
    )
    html = page.content.decode()
    assert "It takes precedence over the address of the service VPN." in html
    assert "Takes precedence over the service VPN" in html
    assert MailAlias.objects.get().service == sso_service


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"local_part": "HELPDESK", "target": "guess"}, "local_part", "exists already"),
        ({"local_part": f"helpdesk@{DOMAIN}", "target": "guess"}, "local_part", "exists already"),
        ({"local_part": "reply+abc", "target": "guess"}, "local_part", "letters, digits"),
        ({"local_part": "a..b", "target": "guess"}, "local_part", "letters, digits"),
        ({"local_part": "x@elsewhere.example", "target": "guess"}, "local_part", "letters"),
        ({"local_part": "p" * 65, "target": "guess"}, "local_part", "at most 64"),
        ({"local_part": "", "target": "guess"}, "local_part", "required"),
        ({"local_part": "printers", "target": "service"}, "service", "Choose the alias"),
        ({"local_part": "printers", "target": "elsewhere"}, "target", "valid choice"),
    ],
)
def test_refused_input_is_shown_on_its_field_and_changes_nothing(
    administrator: User, data: dict[str, str], field: str, words: str
) -> None:
    actions.do_create_alias(administrator, local_part="helpdesk", target=AliasTarget.GUESS)
    before = state()
    page = signed_in(administrator).post(reverse("mail:alias-create"), data)
    assert page.status_code == 400
    form = page.context["form"]
    assert words in " ".join(form.errors.get(field, [])), form.errors
    assert 'class="error-summary"' in page.content.decode()
    assert state() == before


def test_an_alias_to_a_retired_service_is_refused_but_an_existing_one_stays_editable(
    administrator: User, vpn_service: Service, sso_service: Service
) -> None:
    alias = actions.do_create_alias(
        administrator, local_part="helpdesk", target="service", service=vpn_service
    )
    Service.objects.filter(pk__in=[vpn_service.pk, sso_service.pk]).update(is_active=False)
    vpn_service.refresh_from_db()
    sso_service.refresh_from_db()
    with pytest.raises(actions.ValidationFailed, match="retired"):
        actions.do_create_alias(
            administrator, local_part="sso", target="service", service=sso_service
        )
    actions.do_update_alias(
        administrator, alias, local_part="helpdesk", target="service", service=vpn_service,
        is_active=False,
    )  # fmt: skip
    alias.refresh_from_db()
    assert (alias.service, alias.is_active) == (vpn_service, False)
    listing = signed_in(administrator).get(reverse("mail:aliases")).content.decode()
    assert "Retired: mail is guessed" in listing


def test_an_unchanged_save_writes_nothing(administrator: User, vpn_service: Service) -> None:
    alias = actions.do_create_alias(
        administrator, local_part="helpdesk", target="service", service=vpn_service
    )
    before = state()
    actions.do_update_alias(
        administrator, alias, local_part="HelpDesk", target="service", service=vpn_service
    )
    assert state() == before


def test_only_administrators_manage_aliases(
    administrator: User, vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    alias = actions.do_create_alias(
        administrator, local_part="helpdesk", target="service", service=vpn_service
    )
    before = state()
    data = {"local_part": "other", "target": "guess", "is_active": "on"}
    for person in (vpn_agent, requester):
        client = signed_in(person)
        for url in (
            reverse("mail:aliases"),
            reverse("mail:alias-create"),
            reverse("mail:alias-edit", args=[alias.pk]),
            reverse("mail:alias-delete", args=[alias.pk]),
        ):
            assert client.get(url).status_code == 403, url
            assert client.post(url, data).status_code in {403, 405}, url
        with pytest.raises(actions.Forbidden):
            actions.do_create_alias(person, local_part="other", target="guess")
        with pytest.raises(actions.Forbidden):
            actions.do_delete_alias(person, alias)
    assert Client().get(reverse("mail:aliases")).status_code == 302  # to sign in
    assert state() == before


def test_forms_need_the_csrf_token(administrator: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    refused = client.post(reverse("mail:alias-create"), {"local_part": "x", "target": "guess"})
    assert refused.status_code == 403
    assert not MailAlias.objects.exists()
    page = client.get(reverse("mail:alias-create"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    client.post(
        reverse("mail:alias-create"),
        {"local_part": "x", "target": "guess", "csrfmiddlewaretoken": token.group(1)},
    )
    assert MailAlias.objects.filter(local_part="x").exists()
