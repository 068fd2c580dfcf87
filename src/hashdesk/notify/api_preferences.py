"""My notification preferences: ``GET`` and ``PUT /api/v1/notification-preferences``."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Input, ObjectId, Output, with_errors
from hashdesk.notify.choices import Category, Digest
from hashdesk.notify.preferences import (
    CHAT_HANDLE_MAX,
    PreferencesView,
    QuietHours,
    do_save_preferences,
    preferences_of,
)

router = Router(tags=["notifications"])

# "22:00" in JSON is text; read it as a time of day.
TimeOfDay = Annotated[time, Field(strict=False)]


class CategoryPreferenceOut(Output):
    category: str
    label: str
    channels: list[str] = Field(description="Besides in-app, which is always on.")
    digest: str


class PreferencesOut(Output):
    categories: list[CategoryPreferenceOut]
    quiet_start: time | None
    quiet_end: time | None
    urgent_breaks_quiet: bool
    chat_tool_id: int | None
    chat_handle: str
    time_zone: str = Field(description="Quiet hours and digests follow your profile's zone.")


class CategoryPreferenceIn(Input):
    channels: list[str] = Field(
        max_length=3, description='Any of "email", "chat", "webhook"; in-app is always on.'
    )
    digest: str = Field(Digest.IMMEDIATE, description="immediate, hourly or daily.")


class PreferencesIn(Input):
    """The whole document. Categories left out keep their current choice; the other fields
    are replaced (left out: no quiet hours, major incidents break them, no chat tool)."""

    categories: dict[str, CategoryPreferenceIn] = Field(default_factory=dict)
    quiet_start: TimeOfDay | None = None
    quiet_end: TimeOfDay | None = None
    urgent_breaks_quiet: bool = True
    chat_tool_id: ObjectId | None = None
    chat_handle: str = Field("", max_length=CHAT_HANDLE_MAX)


def _document(view: PreferencesView, time_zone: str) -> dict[str, Any]:
    settings = view.settings
    return {
        "categories": [
            {
                "category": category,
                "label": label,
                "channels": sorted(view.categories[category].channels),
                "digest": view.categories[category].digest,
            }
            for category, label in Category.choices
        ],
        "quiet_start": settings.quiet_start if settings else None,
        "quiet_end": settings.quiet_end if settings else None,
        "urgent_breaks_quiet": settings.urgent_breaks_quiet if settings else True,
        "chat_tool_id": settings.chat_tool_id if settings else None,
        "chat_handle": settings.chat_handle if settings else "",
        "time_zone": time_zone,
    }


@router.get("notification-preferences", response=with_errors({200: PreferencesOut}, READ_ERRORS))
def get_notification_preferences(request: HttpRequest) -> dict[str, Any]:
    """My channels and rhythm per category, quiet hours and chat tool (defaults filled in)."""
    user = acting_user(request)
    return _document(preferences_of(user), user.time_zone)


@router.put("notification-preferences", response=with_errors({200: PreferencesOut}, WRITE_ERRORS))
def put_notification_preferences(request: HttpRequest, payload: PreferencesIn) -> dict[str, Any]:
    """Save my preferences; an unknown category or channel, a webhook channel without an active
    webhook or half-set quiet hours are refused (422) and nothing is saved."""
    user = acting_user(request)
    saved = do_save_preferences(
        user,
        choices={
            category: (choice.channels, choice.digest)
            for category, choice in payload.categories.items()
        },
        quiet=QuietHours(payload.quiet_start, payload.quiet_end, payload.urgent_breaks_quiet),
        chat_tool_id=payload.chat_tool_id,
        chat_handle=payload.chat_handle,
    )
    return _document(saved, user.time_zone)
