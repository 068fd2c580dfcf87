"""The administrators' overview of the integrations (``GET /integrations/``).

A small registry: each integration is a :class:`Card` with what it does, where its page and its
documentation are, and a ``status()`` that says whether it is set up and in use, read from its
settings and its own records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from hashdesk.core.visibility import is_administrator
from hashdesk.web.requests import current_user


@dataclass(frozen=True)
class Status:
    """Whether an integration is set up (``ok``), in a word or two, and a sentence of detail."""

    label: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    summary: str
    doc_path: str
    status: Callable[[], Status]
    # URL name of the integration's administration page, if it has one.
    admin_url_name: str | None = None
    order: int = 100
    # Further pages of the integration: (link text, URL name).
    more_links: tuple[tuple[str, str], ...] = ()

    def admin_url(self) -> str | None:
        return reverse(self.admin_url_name) if self.admin_url_name else None

    def links(self) -> list[tuple[str, str]]:
        return [(text, reverse(name)) for text, name in self.more_links]


_cards: dict[str, Card] = {}


def register(card: Card) -> Card:
    """Add (or replace, by key) an integration's card."""
    _cards[card.key] = card
    return card


def cards() -> list[Card]:
    return sorted(_cards.values(), key=lambda card: (card.order, card.title))


# --- The integrations ---------------------------------------------------------------------------


def _mail_status() -> Status:
    from hashdesk.integrations.mail.models import InboundMessage

    where = f"hashdesk smtpd listens on {settings.SMTPD_HOST}:{settings.SMTPD_PORT}."
    last = InboundMessage.objects.order_by("-received_at").values_list("received_at", flat=True)
    received = last.first()
    if received is None:
        return Status("No mail yet", False, f"{where} No mail has arrived so far.")
    return Status(
        "Receiving", True, f"{where} Last mail {date_format(received, 'DATETIME_FORMAT')}."
    )


def _alertmanager_status() -> Status:
    from hashdesk.integrations.alertmanager.models import AlertReceiver

    count = AlertReceiver.objects.count()
    if count:
        return Status("In use", True, f"{count} receiver{'s' if count != 1 else ''}.")
    return Status("No receiver yet", False, "Add a receiver to get its address and token.")


def _mastodon_status() -> Status:
    from hashdesk.integrations.mastodon.models import AppRegistration

    detail = (
        f"Apps use the instance address {settings.PUBLIC_URL}/mastodon; they stream from "
        f"{settings.MASTODON_STREAMING_URL}."
    )
    apps = AppRegistration.objects.count()
    if apps:
        return Status("In use", True, f"{apps} app{'s' if apps != 1 else ''} registered. {detail}")
    return Status("No app yet", True, detail)


def _slack_status() -> Status:
    from hashdesk.integrations.slack.models import IncomingWebhook

    active = IncomingWebhook.objects.filter(is_active=True).count()
    if active:
        return Status("In use", True, f"{active} active hook{'s' if active != 1 else ''}.")
    return Status("No hook yet", False, "Add a hook to get its address.")


def _oidc_status() -> Status:
    issuer = settings.OIDC_ISSUER
    if issuer and settings.OIDC_CLIENT_ID:
        return Status("Configured", True, f"Identity provider: {issuer}.")
    return Status(
        "Not set up", False, "Set HASHDESK_OIDC_ISSUER and HASHDESK_OIDC_CLIENT_ID to enable it."
    )


def _transfer_status() -> Status:
    return Status("Built in", True, "Administrators import; lists export CSV and JSON.")


register(
    Card(
        key="mail",
        title="Inbound email",
        summary="Mail to the service desk opens incidents; replies to notifications land in the "
        "incident's timeline.",
        doc_path="docs/integrations/mail.md",
        status=_mail_status,
        admin_url_name="mail:log",
        more_links=(("Mail aliases", "mail:aliases"),),
        order=10,
    )
)
register(
    Card(
        key="alertmanager",
        title="Alertmanager",
        summary="A firing alert opens or updates the incident of its service and resolves with it.",
        doc_path="docs/integrations/alertmanager.md",
        status=_alertmanager_status,
        admin_url_name="alertmanager:receivers",
        order=20,
    )
)
register(
    Card(
        key="mastodon",
        title="Mastodon API",
        summary="Any Mastodon app posts to and reads the wall, with OAuth 2 sign-in.",
        doc_path="docs/integrations/mastodon.md",
        status=_mastodon_status,
        order=30,
    )
)
register(
    Card(
        key="slack",
        title="Slack-compatible webhooks",
        summary="Tools that post to Slack incoming webhooks post to a service's wall timeline or "
        "chat room instead.",
        doc_path="docs/integrations/slack.md",
        status=_slack_status,
        admin_url_name="slack:hooks",
        order=40,
    )
)
register(
    Card(
        key="oidc",
        title="Single sign-on",
        summary="People sign in with the organisation's OpenID Connect provider; its groups "
        "give their roles.",
        doc_path="docs/integrations/oidc.md",
        status=_oidc_status,
        order=50,
    )
)
register(
    Card(
        key="transfer",
        title="Import and export",
        summary="Bring services, people and incidents in from CSV or JSON; take lists and your "
        "own data out.",
        doc_path="docs/integrations/transfer.md",
        status=_transfer_status,
        admin_url_name="transfer:import",
        order=60,
    )
)


@login_required
@require_GET
def overview_page(request: HttpRequest) -> HttpResponse:
    if not is_administrator(current_user(request)):
        raise PermissionDenied("Only administrators see the integrations.")
    shown = [
        {
            "key": card.key,
            "title": card.title,
            "summary": card.summary,
            "doc_path": card.doc_path,
            "state": card.status(),
            "admin_url": card.admin_url(),
            "links": card.links(),
        }
        for card in cards()
    ]
    return render(request, "integrations/overview.html", {"cards": shown})
