"""Vocabulary of notifications: channels, digest rhythms and the categories people choose for."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat tool"
    WEBHOOK = "webhook", "Webhook"


class Digest(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    HOURLY = "hourly", "Hourly digest"
    DAILY = "daily", "Daily digest"


class Category(models.TextChoices):
    """What a notification is about; people choose channels and rhythm per category.

    A notification's ``kind`` ("incident.official_update") falls in exactly one category,
    decided by :func:`category_of`.
    """

    MAJOR = "major", "Major incidents"
    INCIDENTS = "incidents", "Incidents I report, am affected by or follow"
    CHANGES = "changes", "Changes to services I use"
    PROBLEMS = "problems", "Known errors and problems"
    MENTIONS = "mentions", "Mentions and replies"
    CHAT = "chat", "Chat messages while I am away"
    KNOWLEDGE = "knowledge", "Knowledge and reputation"
    ACCOUNT = "account", "My account"


# The first matching prefix wins: "incident.major_update_due" is MAJOR, "incident.update" is
# INCIDENTS. Official updates are posted on major incidents only, so they are MAJOR too.
_PREFIXES: tuple[tuple[str, Category], ...] = (
    ("incident.major_", Category.MAJOR),
    ("incident.official_update", Category.MAJOR),
    ("incident.", Category.INCIDENTS),
    ("change.", Category.CHANGES),
    ("problem.", Category.PROBLEMS),
    # A published known error's workaround, told to the people its incidents affect.
    ("known_error", Category.PROBLEMS),
    # A probable incident raised by the burst detector, told to the service's team.
    ("insights.", Category.INCIDENTS),
    ("wall.mention", Category.MENTIONS),
    ("wall.reply", Category.MENTIONS),
    ("chat.mention", Category.MENTIONS),
    ("chat.", Category.CHAT),
    ("knowledge.", Category.KNOWLEDGE),
    ("wall.", Category.KNOWLEDGE),
    ("account.", Category.ACCOUNT),
    ("webhook.", Category.ACCOUNT),
    ("chattool.", Category.ACCOUNT),
)


def category_of(kind: str) -> Category:
    """The category of a notification kind; unknown kinds count as account notices."""
    for prefix, category in _PREFIXES:
        if kind.startswith(prefix):
            return category
    return Category.ACCOUNT
