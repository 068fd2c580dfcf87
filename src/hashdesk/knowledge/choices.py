"""Vocabulary of knowledge articles."""

from django.db import models


class ArticleState(models.TextChoices):
    """The review workflow: draft → review → published → retired."""

    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class ArticleVisibility(models.TextChoices):
    # Every signed-in person (once published).
    PUBLIC = "public", "Everyone"
    # Service desk staff only.
    INTERNAL = "internal", "Service desk only"


class ArticleOrigin(models.TextChoices):
    """Where an article's first draft came from."""

    MANUAL = "manual", "Written by hand"
    CHAT_CONVERSATION = "chat_conversation", "A live-help conversation"
    CHAT_MESSAGE = "chat_message", "A chat message"
    WALL_ANSWER = "wall_answer", "An accepted answer on the wall"
