"""Integration accounts (``User.kind``): what the accounts app promises about them, for every
integration that posts as one (Slack hooks and Alertmanager receivers)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from tests.integrations.slack.support import make_hook

from hashdesk.accounts import actions
from hashdesk.accounts.choices import AccountKind
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.core.errors import ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.integrations.alertmanager import actions as alertmanager_actions
from hashdesk.integrations.slack import actions as slack_actions

pytestmark = pytest.mark.django_db


def test_an_integration_account_is_recorded_as_one_and_has_no_password(
    administrator: User,
) -> None:
    bot = actions.do_create_user(
        administrator,
        email="feed@hooks.invalid",
        display_name="Status feed",
        kind=AccountKind.INTEGRATION,
    )
    assert bot.kind == AccountKind.INTEGRATION and not bot.is_person and not bot.may_sign_in
    assert not bot.has_usable_password()
    entry = AuditEntry.objects.get(action="user.create", object_id=str(bot.pk))
    assert entry.after["kind"] == AccountKind.INTEGRATION
    with pytest.raises(ValidationFailed):
        actions.do_create_user(
            administrator,
            email="other@hooks.invalid",
            display_name="Other",
            password="a-long-enough-secret-9",
            kind=AccountKind.INTEGRATION,
        )
    with pytest.raises(ValidationFailed):
        actions.do_create_user(
            administrator, email="robot@example.test", display_name="Robot", kind="robot"
        )
    # People stay people.
    assert administrator.kind == AccountKind.PERSON and administrator.may_sign_in


def test_an_alertmanager_receivers_account_is_listed_nowhere(administrator: User) -> None:
    receiver, _token = alertmanager_actions.do_create_receiver(administrator, name="Prometheus")
    reporter = User.objects.get(pk=receiver.reporter_id)
    assert reporter.kind == AccountKind.INTEGRATION and not reporter.is_active
    # Administrators see deactivated people, but not an integration's account.
    assert not visible_to(administrator, User.objects.filter(pk=reporter.pk)).exists()
    client = Client()
    client.force_login(administrator)
    page = client.get(reverse("accounts:people"), {"q": "Alertmanager"})
    assert page.context["count"] == 0


def test_the_migration_marks_the_accounts_integrations_already_post_as(
    administrator: User, vpn_service: Service, requester: User
) -> None:
    kept, _path = make_hook(administrator, vpn_service, name="Grafana")
    deleted, _path = make_hook(administrator, vpn_service, name="Old Grafana")
    deleted_bot = deleted.bot
    slack_actions.do_delete_hook(administrator, deleted)
    receiver, _token = alertmanager_actions.do_create_receiver(administrator, name="Prometheus")
    accounts = [kept.bot.pk, deleted_bot.pk, receiver.reporter.pk]
    # As they were before there was a kind of account.
    User.objects.filter(pk__in=accounts).update(kind=AccountKind.PERSON)
    migration = importlib.import_module(
        "hashdesk.accounts.migrations.0003_mark_integration_accounts"
    )
    migration.mark_integration_accounts(apps, None)
    marked = set(User.objects.filter(kind=AccountKind.INTEGRATION).values_list("pk", flat=True))
    assert marked == set(accounts)
    assert requester.pk not in marked and administrator.pk not in marked
