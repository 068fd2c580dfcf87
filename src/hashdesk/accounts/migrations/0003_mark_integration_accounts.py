"""Mark the accounts integrations already post as: every Slack hook's and every Alertmanager
receiver's, including the deactivated accounts of deleted hooks (known by their addresses).
From now on they are created with ``kind`` integration."""

from typing import Any

from django.db import migrations
from django.db.models import Q


def mark_integration_accounts(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("accounts", "User")
    IncomingWebhook = apps.get_model("slack", "IncomingWebhook")
    AlertReceiver = apps.get_model("alertmanager", "AlertReceiver")
    User.objects.filter(
        Q(pk__in=IncomingWebhook.objects.values("bot_id"))
        | Q(pk__in=AlertReceiver.objects.values("reporter_id"))
        | Q(email__startswith="slack-hook-", email__endswith="@hooks.invalid")
        | Q(email__startswith="alertmanager+", email__endswith="@alertmanager.invalid")
    ).update(kind="integration")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_add_user_kind"),
        ("alertmanager", "0001_initial"),
        ("slack", "0001_add_incoming_webhook"),
    ]

    operations = [
        migrations.RunPython(mark_integration_accounts, migrations.RunPython.noop, elidable=True),
    ]
