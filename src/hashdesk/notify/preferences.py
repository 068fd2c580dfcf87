"""How each person wants to be told: channels and rhythm per category, quiet hours, chat tool.

A person without a ``NotificationPreference`` row for a category gets :data:`DEFAULTS`. In-app is
always on (the notification centre is the record of everything a person was told), so only the
channels besides it are stored and chosen here.

Defaults (docs/notifications.md, "Preferences"):

- email at once for major incidents, incidents, changes, problems, the account, and chat
  messages that arrive while one is away (someone is waiting for an answer; the chat app sends
  at most one such notice per conversation until it is read);
- email in an hourly digest for mentions and replies (conversations come in bursts);
- in-app only for knowledge and reputation.

Webhooks and chat tools are never on by default: a person chooses them after configuring one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import ValidationFailed
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.models import (
    ChatTool,
    NotificationPreference,
    NotificationSettings,
    WebhookEndpoint,
)

# The channels a person chooses per category (in-app is always on and never stored).
EXTERNAL_CHANNELS: tuple[str, ...] = (Channel.EMAIL, Channel.CHAT, Channel.WEBHOOK)
CHAT_HANDLE_MAX = 100


@dataclass(frozen=True)
class Preference:
    """The channels besides in-app, and how often, for one category of one person."""

    channels: frozenset[str]
    digest: str = Digest.IMMEDIATE


DEFAULTS: dict[str, Preference] = {
    Category.MAJOR: Preference(frozenset({Channel.EMAIL})),
    Category.INCIDENTS: Preference(frozenset({Channel.EMAIL})),
    Category.CHANGES: Preference(frozenset({Channel.EMAIL})),
    Category.PROBLEMS: Preference(frozenset({Channel.EMAIL})),
    Category.MENTIONS: Preference(frozenset({Channel.EMAIL}), Digest.HOURLY),
    Category.CHAT: Preference(frozenset({Channel.EMAIL})),
    Category.KNOWLEDGE: Preference(frozenset()),
    Category.ACCOUNT: Preference(frozenset({Channel.EMAIL})),
}


def default_preferences() -> dict[str, Preference]:
    return dict(DEFAULTS)


def preferences_for(user_ids: Iterable[int]) -> dict[int, dict[str, Preference]]:
    """Every category's preference of each person, defaults filled in: one query."""
    ids = set(user_ids)
    result = {pk: default_preferences() for pk in ids}
    if not ids:
        return result
    rows = NotificationPreference.objects.filter(user_id__in=ids).values_list(
        "user_id", "category", "channels", "digest"
    )
    for user_id, category, channels, digest in rows:
        if category in DEFAULTS:
            result[user_id][category] = Preference(
                frozenset(channel for channel in channels if channel in EXTERNAL_CHANNELS),
                digest if digest in Digest.values else Digest.IMMEDIATE,
            )
    return result


# --- Quiet hours and digest times ---------------------------------------------------------------


def zone_of(person: User) -> ZoneInfo:
    try:
        return ZoneInfo(person.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(day: Any, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def quiet_until(
    settings: NotificationSettings | None, now: datetime, zone: ZoneInfo | None = None
) -> datetime | None:
    """When the quiet hours around ``now`` end, or None when ``now`` is not in them.

    The window is in the person's own time zone (``zone``, else the person's) and may wrap
    midnight (22:00 to 07:00). A window that starts and ends at the same time is no window.
    """
    if settings is None or settings.quiet_start is None or settings.quiet_end is None:
        return None
    start, end = settings.quiet_start, settings.quiet_end
    if start == end:
        return None
    zone = zone or zone_of(settings.user)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if start <= moment < end:
            return _local(today, end, zone)
        return None
    # Wraps midnight: quiet from start to midnight and from midnight to end.
    if moment >= start:
        return _local(today + timedelta(days=1), end, zone)
    if moment < end:
        return _local(today, end, zone)
    return None


DAILY_DIGEST_AT = time(8, 0)


def digest_due(
    digest: str,
    settings: NotificationSettings | None,
    now: datetime,
    zone: ZoneInfo,
) -> datetime:
    """When a notification held for ``digest`` is sent: hourly at the next full hour, daily at
    the next 08:00, both in the person's time zone and never inside their quiet hours (then at
    the end of them)."""
    local = now.astimezone(zone)
    if digest == Digest.DAILY:
        due = _local(local.date(), DAILY_DIGEST_AT, zone)
        if due <= local:
            due = _local(local.date() + timedelta(days=1), DAILY_DIGEST_AT, zone)
    else:
        due = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return quiet_until(settings, due, zone) or due


# --- Saving -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    start: time | None
    end: time | None
    urgent_breaks_quiet: bool = True


def _check_choices(
    choices: Mapping[str, tuple[Collection[str], str]],
) -> dict[str, Preference]:
    checked: dict[str, Preference] = {}
    for category, (channels, digest) in choices.items():
        if category not in Category.values:
            raise ValidationFailed(f"{category!r} is not a notification category.", field=category)
        unknown = sorted(set(channels) - set(EXTERNAL_CHANNELS))
        if unknown:
            raise ValidationFailed(
                f"{', '.join(map(repr, unknown))} is not a channel; choose from "
                f"{', '.join(EXTERNAL_CHANNELS)} (in-app is always on).",
                field=category,
            )
        if digest not in Digest.values:
            raise ValidationFailed(
                f"{digest!r} is not a rhythm; choose from {', '.join(Digest.values)}.",
                field=f"{category}-digest",
            )
        checked[category] = Preference(frozenset(channels), digest)
    return checked


def _check_quiet(quiet: QuietHours) -> None:
    if (quiet.start is None) != (quiet.end is None):
        missing = "quiet_start" if quiet.start is None else "quiet_end"
        raise ValidationFailed(
            "Quiet hours need both a start and an end (or neither).", field=missing
        )
    if quiet.start is not None and quiet.start == quiet.end:
        raise ValidationFailed(
            "Quiet hours cannot start and end at the same time.", field="quiet_end"
        )


def offered_chat_tools() -> Any:
    """The chat tools a person may choose for their own notifications."""
    return ChatTool.objects.filter(offered_to_people=True, is_active=True).order_by("name")


def _check_channels_configured(
    person: User, chosen: Mapping[str, Preference], chat_tool: ChatTool | None
) -> None:
    wants = {channel for preference in chosen.values() for channel in preference.channels}
    if (
        Channel.WEBHOOK in wants
        and not WebhookEndpoint.objects.filter(owner=person, is_active=True).exists()
    ):
        category = next(c for c, p in chosen.items() if Channel.WEBHOOK in p.channels)
        raise ValidationFailed(
            "You have no active webhook; add one on the webhooks page before choosing it.",
            field=category,
        )
    if Channel.CHAT in wants and chat_tool is None:
        category = next(c for c, p in chosen.items() if Channel.CHAT in p.channels)
        raise ValidationFailed(
            "Choose the chat tool that should carry your notifications first.", field=category
        )


@dataclass(frozen=True)
class PreferencesView:
    """Everything of one person's preferences page and API document."""

    categories: dict[str, Preference]
    settings: NotificationSettings | None


def preferences_of(person: User) -> PreferencesView:
    settings = NotificationSettings.objects.filter(user=person).select_related("chat_tool").first()
    return PreferencesView(preferences_for([person.pk])[person.pk], settings)


def _snapshot(view: PreferencesView) -> dict[str, Any]:
    settings = view.settings
    return {
        "categories": {
            category: {"channels": sorted(p.channels), "digest": p.digest}
            for category, p in sorted(view.categories.items())
        },
        "quiet_start": settings.quiet_start.isoformat()
        if settings and settings.quiet_start
        else None,
        "quiet_end": settings.quiet_end.isoformat() if settings and settings.quiet_end else None,
        "urgent_breaks_quiet": settings.urgent_breaks_quiet if settings else True,
        "chat_tool_id": settings.chat_tool_id if settings else None,
        "chat_handle": settings.chat_handle if settings else "",
    }


@transaction.atomic
def do_save_preferences(
    person: User,
    *,
    choices: Mapping[str, tuple[Collection[str], str]],
    quiet: QuietHours,
    chat_tool_id: int | None,
    chat_handle: str = "",
) -> PreferencesView:
    """Store ``person``'s channels and rhythm for the categories in ``choices`` (others keep
    theirs), quiet hours and chat tool. Bad input raises ValidationFailed and stores nothing."""
    chosen = _check_choices(choices)
    _check_quiet(quiet)
    handle = chat_handle.strip()
    if len(handle) > CHAT_HANDLE_MAX:
        raise ValidationFailed(
            f"A chat handle is at most {CHAT_HANDLE_MAX} characters.", field="chat_handle"
        )
    chat_tool = None
    if chat_tool_id is not None:
        chat_tool = offered_chat_tools().filter(pk=chat_tool_id).first()
        if chat_tool is None:
            raise ValidationFailed("That chat tool is not offered to people.", field="chat_tool")
    before = preferences_of(person)
    merged = {**before.categories, **chosen}
    _check_channels_configured(person, merged, chat_tool)
    now = timezone.now()
    NotificationPreference.objects.bulk_create(
        [
            NotificationPreference(
                user=person,
                category=category,
                channels=sorted(preference.channels),
                digest=preference.digest,
                updated_at=now,
            )
            for category, preference in chosen.items()
        ],
        update_conflicts=True,
        unique_fields=["user", "category"],
        update_fields=["channels", "digest", "updated_at"],
    )
    settings, _ = NotificationSettings.objects.update_or_create(
        user=person,
        defaults={
            "quiet_start": quiet.start,
            "quiet_end": quiet.end,
            "urgent_breaks_quiet": quiet.urgent_breaks_quiet,
            "chat_tool": chat_tool,
            "chat_handle": handle,
            "updated_at": now,
        },
    )
    after = PreferencesView(merged, settings)
    trail.record(
        actor=person,
        action="notify.preferences_save",
        obj=settings,
        before=_snapshot(before),
        after=_snapshot(after),
    )
    return after
