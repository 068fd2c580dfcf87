"""Chat tools: channels in Slack, Microsoft Teams, Mattermost, Matrix, Mastodon, Telegram and the
like, reached through apprise URLs that administrators configure (docs/notifications.md).

A chat tool announces the major incidents, incident updates and changes of its services to its
channel (:func:`announce_to_chat_tools`, an announcement receiver), and, when it is offered to
people, carries a person's own notifications (:func:`notice_chat`). Both are outbox rows of the
``chat`` channel whose payload names the tool by id: the apprise URL, which holds the tool's
credentials, is read from the tool at delivery and never written to the outbox, a page, the
audit trail or a log.

apprise is imported lazily (it loads hundreds of plugins): never at Django start-up, only when a
URL is checked or a message sent. apprise makes its own HTTP connections (through requests), so
the destination is checked with :func:`hashdesk.core.http.check_destination` right before each
sending rather than pinned to the checked address as :mod:`hashdesk.core.http` does for
webhooks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.http import OutboundRefused, check_destination
from hashdesk.core.logging import get_logger
from hashdesk.core.outbox import Delivery, PermanentDeliveryError, delivery_handler, enqueue_many
from hashdesk.core.visibility import administrator_condition, can_manage_chat_tools
from hashdesk.notify.announcements import Announcement, announcement_receiver
from hashdesk.notify.choices import Category, category_of
from hashdesk.notify.models import ChatTool, Notification

log = get_logger(__name__)

# What a chat tool may announce to its channel, and what it announces when none is chosen.
ANNOUNCED_CATEGORIES = (Category.MAJOR, Category.INCIDENTS, Category.CHANGES)
DEFAULT_CATEGORIES = (Category.MAJOR, Category.CHANGES)

NOT_APPRISE = "Not an apprise URL Hashdesk understands."
DISABLED_KIND = "chattool.disabled"
MAX_URL_LENGTH = 2000
MAX_KEY_LENGTH = 100

# Cloud services whose apprise URL carries tokens where a host would be: the host they really
# contact is fixed and public.
_CLOUD_HOSTS = {
    "discord": "discord.com",
    "tgram": "api.telegram.org",
    "gchat": "chat.googleapis.com",
}


def _apprise() -> Any:
    # Slow to import (hundreds of plugins): only a check or a sending worker needs it.
    import apprise

    return apprise


# --- Reading an apprise URL ----------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where an apprise URL sends to: the scheme, and the host and port its plugin contacts."""

    scheme: str
    host: str
    port: int | None
    secure: bool

    @property
    def display(self) -> str:
        """Scheme and host alone, without tokens: safe for lists, logs and the delivery log."""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}"

    @property
    def http_url(self) -> str:
        """The address for :func:`check_destination`."""
        port = f":{self.port}" if self.port else ""
        return f"{'https' if self.secure else 'http'}://{self.host}{port}/"


def _scheme(url: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return match.group(1).lower() if match else ""


def _endpoint_host(scheme: str, plugin: Any) -> str:
    """The host the plugin will contact (for cloud services their fixed endpoint)."""
    if scheme == "slack":
        return "slack.com" if getattr(plugin, "mode", "") == "bot" else "hooks.slack.com"
    if scheme in _CLOUD_HOSTS:
        return _CLOUD_HOSTS[scheme]
    if scheme == "zulip":
        return f"{plugin.organization}.{plugin.hostname}"
    if scheme in {"ntfy", "ntfys"} and getattr(plugin, "mode", "") == "cloud":
        return "ntfy.sh"
    if scheme in {"matrix", "matrixs"} and getattr(plugin, "mode", "") == "t2bot":
        return "webhooks.t2bot.io"
    return str(getattr(plugin, "host", "") or "")


def destination_of(url: str) -> Destination:
    """Check that ``url`` is an apprise URL of an allowed scheme and say where it sends.

    Raises :class:`ValidationFailed` (field ``apprise_url``) with a message that never repeats
    the URL. Does not resolve the host; :func:`check_url` does.
    """
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH or any(ch.isspace() for ch in url):
        raise ValidationFailed(NOT_APPRISE, field="apprise_url")
    scheme = _scheme(url)
    allowed = {str(s).lower() for s in settings.CHAT_TOOL_SCHEMES}
    if scheme not in allowed:
        raise ValidationFailed(
            f"{NOT_APPRISE} Hashdesk takes chat tools of these kinds: "
            f"{', '.join(sorted(allowed))}.",
            field="apprise_url",
        )
    try:
        plugin = _apprise().Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:  # apprise's own parsing failed on this URL
        plugin = None
    if plugin is None:
        raise ValidationFailed(NOT_APPRISE, field="apprise_url")
    host = _endpoint_host(scheme, plugin)
    if not host:
        raise ValidationFailed(f"{NOT_APPRISE} It names no server.", field="apprise_url")
    secure = bool(getattr(plugin, "secure", False)) or scheme in {"slack", "zulip"} | set(
        _CLOUD_HOSTS
    )
    port = getattr(plugin, "port", None) if host == getattr(plugin, "host", None) else None
    return Destination(scheme=scheme, host=host, port=int(port) if port else None, secure=secure)


def check_url(url: str) -> Destination:
    """:func:`destination_of`, plus the destination's network must be allowed."""
    destination = destination_of(url)
    try:
        check_destination(destination.http_url)
    except OutboundRefused as error:
        raise ValidationFailed(
            f"Hashdesk may not send to {destination.display}: {error}", field="apprise_url"
        ) from error
    return destination


def _secrets_of(url: str) -> list[str]:
    """The parts of an apprise URL that may be credentials, longest first, for redaction."""
    parts = urlsplit(url)
    candidates = {parts.username or "", parts.password or ""}
    candidates |= set(parts.path.split("/"))
    candidates |= {value for _name, value in parse_qsl(parts.query)}
    if not _scheme(url) or parts.hostname is None:
        candidates.add(url)
    # For cloud services the "host" is a token too.
    candidates.add(parts.hostname or "")
    expanded = candidates | {unquote(c) for c in candidates}
    return sorted((c for c in expanded if len(c) >= 4), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """``text`` (an error from apprise) with anything from ``url`` that may be secret hidden."""
    text = text.replace(url, "[the chat tool URL]")
    for secret in _secrets_of(url):
        text = text.replace(secret, "[hidden]")
    return text


# --- Administration ------------------------------------------------------------------------------


def _require_admin(actor: User | None) -> None:
    if not can_manage_chat_tools(actor):
        raise Forbidden("Only administrators configure chat tools.")


def _clean_categories(categories: Iterable[str]) -> list[str]:
    chosen = [str(c) for c in categories]
    allowed = {str(c) for c in ANNOUNCED_CATEGORIES}
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise ValidationFailed(
            f"A chat tool announces {', '.join(sorted(allowed))}; not {unknown[0]!r}.",
            field="categories",
        )
    return [str(c) for c in ANNOUNCED_CATEGORIES if str(c) in chosen]


def _clean_name(name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the chat tool a name.", field="name")
    if len(name) > 100:
        raise ValidationFailed("A name has at most 100 characters.", field="name")
    clash = ChatTool.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationFailed(f"There already is a chat tool named {name}.", field="name")
    return name


def chat_tool_snapshot(tool: ChatTool, service_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """What the audit trail keeps of a tool: everything except its URL."""
    if service_ids is None:
        service_ids = tool.services.values_list("pk", flat=True)
    return {
        "name": tool.name,
        "display_target": tool.display_target,
        "services": sorted(service_ids),
        "categories": list(tool.categories),
        "offered_to_people": tool.offered_to_people,
        "is_active": tool.is_active,
    }


@transaction.atomic
def do_create_chat_tool(
    actor: User | None,
    *,
    name: str,
    apprise_url: str,
    services: Iterable[Service] = (),
    categories: Iterable[str] = (),
    offered_to_people: bool = False,
) -> ChatTool:
    """Configure a chat tool; its URL is checked (apprise accepts it, the network is allowed)."""
    _require_admin(actor)
    clean_name = _clean_name(name)
    destination = check_url(apprise_url)
    tool = ChatTool.objects.create(
        name=clean_name,
        apprise_url=apprise_url.strip(),
        display_target=destination.display,
        categories=_clean_categories(categories),
        offered_to_people=offered_to_people,
        created_by=actor,
    )
    chosen = list(services)
    tool.services.set(chosen)
    after = chat_tool_snapshot(tool, [s.pk for s in chosen])
    trail.record(actor=actor, action="chattool.create", obj=tool, after=after)
    log.info("chat tool created", chat_tool=tool.pk, target=tool.display_target)
    return tool


CHANGEABLE = frozenset({"name", "apprise_url", "services", "categories", "offered_to_people"})


@transaction.atomic
def do_update_chat_tool(actor: User | None, tool: ChatTool, **changes: Any) -> ChatTool:
    """Change some settings of a tool. An empty or missing ``apprise_url`` keeps the old one."""
    _require_admin(actor)
    unknown = set(changes) - CHANGEABLE
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}.", field=name)
    tool = ChatTool.objects.select_for_update().get(pk=tool.pk)
    before = chat_tool_snapshot(tool)
    url_changed = False
    if "name" in changes:
        tool.name = _clean_name(changes["name"], exclude=tool.pk)
    if changes.get("apprise_url"):
        destination = check_url(changes["apprise_url"])
        url_changed = changes["apprise_url"].strip() != tool.apprise_url
        tool.apprise_url = changes["apprise_url"].strip()
        tool.display_target = destination.display
    if "categories" in changes:
        tool.categories = _clean_categories(changes["categories"])
    if "offered_to_people" in changes:
        tool.offered_to_people = bool(changes["offered_to_people"])
    tool.save()
    if "services" in changes:
        tool.services.set(list(changes["services"]))
    after = chat_tool_snapshot(tool)
    if url_changed:
        # The audit trail says that the URL changed, never what it was or is.
        after["apprise_url_changed"] = True
    if after != before:
        trail.record(actor=actor, action="chattool.update", obj=tool, before=before, after=after)
    return tool


@transaction.atomic
def do_delete_chat_tool(actor: User | None, tool: ChatTool) -> None:
    """Remove a tool; messages still waiting for it fail at delivery (visible in the log)."""
    _require_admin(actor)
    before = chat_tool_snapshot(tool)
    trail.record(actor=actor, action="chattool.delete", obj=tool, before=before)
    tool.delete()


@transaction.atomic
def do_enable_chat_tool(actor: User | None, tool: ChatTool) -> ChatTool:
    """Enable a tool again after it was disabled for failing; its failure count starts over."""
    _require_admin(actor)
    tool = ChatTool.objects.select_for_update().get(pk=tool.pk)
    if tool.is_active:
        return tool
    before = chat_tool_snapshot(tool)
    tool.is_active = True
    tool.consecutive_failures = 0
    tool.disabled_at = None
    tool.disabled_reason = ""
    tool.save(update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"])
    after = chat_tool_snapshot(tool)
    trail.record(actor=actor, action="chattool.enable", obj=tool, before=before, after=after)
    return tool


@transaction.atomic
def do_send_chat_tool_test(actor: User | None, tool: ChatTool) -> str:
    """Queue a test message to the tool's channel; returns the outbox key (see the log)."""
    _require_admin(actor)
    if not tool.is_active:
        raise Conflict(f"{tool.name} is disabled: enable it before sending a test.")
    moment = timezone.now()
    key = f"chat:test:t{tool.pk}:{moment.strftime('%Y%m%dT%H%M%S.%f')}"
    who = actor.display_name if actor is not None else "Hashdesk"
    enqueue_many(
        [
            Delivery(
                channel="chat",
                payload={
                    "tool_id": tool.pk,
                    "title": "Hashdesk test message",
                    "body": f"{who} sent this test from Hashdesk: this channel is connected.",
                    "url": f"{settings.PUBLIC_URL}/notifications/chat-tools/",
                },
                key=key,
                recipient_id=actor.pk if actor is not None else None,
                target=tool.display_target or tool.name,
                summary=f"Test message to {tool.name}",
                kind="chattool.test",
            )
        ]
    )
    trail.record(actor=actor, action="chattool.test", obj=tool)
    return key


# --- What goes to a chat tool --------------------------------------------------------------------


def _absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.PUBLIC_URL}{url if url.startswith('/') else '/' + url}"


def _key(raw: str) -> str:
    if len(raw) <= MAX_KEY_LENGTH:
        return raw
    return f"chat:h:{hashlib.sha256(raw.encode()).hexdigest()}"


def notice_chat(notification: Notification, tool: ChatTool, handle: str = "") -> Delivery:
    """The outbox row (channel ``chat``) that tells one person's notification through ``tool``;
    ``handle`` (the person's chat name) is mentioned first when given."""
    handle = handle.strip().lstrip("@")
    return Delivery(
        channel="chat",
        payload={
            "tool_id": tool.pk,
            "title": notification.title,
            "body": notification.body,
            "url": _absolute(notification.url),
            "handle": handle,
        },
        key=f"chat:t{tool.pk}:n{notification.pk}",
        recipient_id=notification.recipient_id,
        target=tool.display_target or tool.name,
        summary=notification.title,
        kind=notification.kind,
    )


def _announces(categories: list[str], category: str) -> bool:
    return category in (categories or [str(c) for c in DEFAULT_CATEGORIES])


@announcement_receiver
def announce_to_chat_tools(announcement: Announcement) -> None:
    """Every active tool of the announcement's services that announces its category gets one
    message (one query, whatever the number of tools or services)."""
    if announcement.audience not in (Visibility.PUBLIC, Visibility.INTERNAL):
        return
    if not announcement.service_ids:
        return
    category = str(category_of(announcement.kind))
    if category not in {str(c) for c in ANNOUNCED_CATEGORIES}:
        return
    links = ChatTool.services.through.objects.filter(service_id__in=announcement.service_ids)
    tools = (
        ChatTool.objects.filter(is_active=True, pk__in=links.values("chattool_id"))
        .values("pk", "name", "display_target", "categories")
        .order_by("pk")
    )
    deliveries = [
        Delivery(
            channel="chat",
            payload={
                "tool_id": tool["pk"],
                "title": announcement.title,
                "body": announcement.body,
                "url": _absolute(announcement.url),
            },
            key=_key(f"chat:a:t{tool['pk']}:{announcement.key}"),
            target=tool["display_target"] or tool["name"],
            summary=announcement.title,
            kind=announcement.kind,
        )
        for tool in tools
        if _announces(tool["categories"], category)
    ]
    if deliveries:
        enqueue_many(deliveries)


# --- Delivery ------------------------------------------------------------------------------------


def compose(payload: dict[str, Any]) -> tuple[str, str]:
    """The title and plain-text body sent for ``payload``."""
    title = str(payload.get("title") or "Hashdesk")
    lines = []
    handle = str(payload.get("handle") or "")
    body = str(payload.get("body") or "").strip()
    first = f"@{handle} " if handle else ""
    if body:
        lines.append(f"{first}{body}")
    elif first:
        lines.append(first.strip())
    if payload.get("url"):
        lines.append(str(payload["url"]))
    return title, "\n\n".join(lines) or title


def _administrators() -> list[User]:
    return list(User.objects.filter(administrator_condition()).distinct())


def _record_success(tool_id: int) -> None:
    ChatTool.objects.filter(pk=tool_id, consecutive_failures__gt=0).update(consecutive_failures=0)


def _record_failure(tool_id: int, reason: str) -> None:
    """Count a failed delivery; at the limit disable the tool and tell every administrator once."""
    from hashdesk.notify.actions import do_notify_many

    with transaction.atomic():
        ChatTool.objects.filter(pk=tool_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        limit = settings.NOTIFY_DISABLE_AFTER_FAILURES
        disabled = ChatTool.objects.filter(
            pk=tool_id, is_active=True, consecutive_failures__gte=limit
        ).update(is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:300])
        if not disabled:
            return
        tool = ChatTool.objects.get(pk=tool_id)
        trail.record(
            actor=None,
            action="chattool.disable",
            obj=tool,
            after={**chat_tool_snapshot(tool), "reason": tool.disabled_reason},
        )
        do_notify_many(
            _administrators(),
            kind=DISABLED_KIND,
            title=f"Chat tool {tool.name} is disabled",
            body=(
                f"{limit} deliveries to {tool.display_target or tool.name} failed in a row; "
                f"the last one: {tool.disabled_reason} Fix the tool and enable it again."
            ),
            url="/notifications/chat-tools/",
        )
    log.warning("chat tool disabled", chat_tool=tool_id, failures=limit)


def _timeouts(plugin: Any) -> None:
    """No server that accepts a connection and then says nothing may hold the worker."""
    limit = float(settings.OUTBOUND_TIMEOUT_SECONDS)
    plugin.socket_connect_timeout = min(float(plugin.socket_connect_timeout or limit), limit)
    plugin.socket_read_timeout = min(float(plugin.socket_read_timeout or limit), limit)


@delivery_handler("chat")
def deliver_chat(payload: dict[str, Any], idempotency_key: str) -> None:
    """Send one message through the tool named in ``payload`` (``tool_id``, ``title``,
    ``body``, ``url``, optional ``handle``)."""
    tool = ChatTool.objects.filter(pk=int(payload.get("tool_id") or 0)).first()
    if tool is None:
        raise PermanentDeliveryError("The chat tool was removed.")
    if not tool.is_active:
        raise PermanentDeliveryError(f"The chat tool {tool.name} is disabled.")
    try:
        destination = check_url(tool.apprise_url)
    except ValidationFailed as error:
        # Refused now (DNS moved it to a forbidden network, or the settings changed): no retry
        # helps, and it counts as a failure of the tool.
        _record_failure(tool.pk, error.detail)
        raise PermanentDeliveryError(error.detail) from error
    apprise = _apprise()
    plugin = apprise.Apprise.instantiate(tool.apprise_url, suppress_exceptions=True)
    if plugin is None:
        _record_failure(tool.pk, NOT_APPRISE)
        raise PermanentDeliveryError(NOT_APPRISE)
    _timeouts(plugin)
    sender = apprise.Apprise()
    sender.add(plugin)
    title, body = compose(payload)
    limit = float(settings.OUTBOUND_TIMEOUT_SECONDS)
    try:
        result = sender.notify(
            body=body,
            title=title,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=limit * 3,
        )
        ok = bool(result)
        problems = [
            entry.message
            for entry in (result.logs() if hasattr(result, "logs") else [])
            if entry.level in {"WARNING", "ERROR", "CRITICAL"}
        ]
    except Exception as error:  # a plugin raising is a failed attempt like any other
        ok = False
        problems = [f"{type(error).__name__}: {error}"]
    if ok:
        _record_success(tool.pk)
        log.info("chat message sent", chat_tool=tool.pk, target=destination.display)
        return
    detail = redact(" ".join(problems[-2:]), tool.apprise_url) if problems else ""
    reason = f"{destination.display} did not take the message. {detail}".strip()
    _record_failure(tool.pk, reason)
    raise RuntimeError(reason)
