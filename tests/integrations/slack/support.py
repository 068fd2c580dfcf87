"""Helpers shared by the incoming webhook tests."""

from __future__ import annotations

from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.integrations.slack import actions
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.integrations.slack.models import IncomingWebhook


def make_hook(
    administrator: User,
    service: Service,
    *,
    name: str = "Grafana",
    target: str = HookTarget.TIMELINE,
) -> tuple[IncomingWebhook, str]:
    """A hook and the path of its URL (which holds the secret)."""
    hook, secret = actions.do_create_hook(administrator, name=name, service=service, target=target)
    return hook, reverse("slack:receive", args=[hook.public_id, secret])
