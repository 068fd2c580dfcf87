"""Full-text search over the messages someone may see (docs/chat.md, "Search").

The index is the database's own (migration chat 0002): SQLite's FTS5 table ``chat_message_fts``,
kept in step by triggers, or on PostgreSQL a GIN index on ``to_tsvector('simple', body)``.
Both see the same words: the query's words, lower-cased, all of which a message must contain
(no stemming: "simple" is language-neutral, as chat is). Results are ranked (bm25 / ts_rank),
newest first on ties; deleted messages are never found, even by staff.

The snippet is made here rather than by the database, so both vendors highlight alike: the
text around the first match, HTML-escaped, with the query's words in ``<mark>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, FloatField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape

from hashdesk.accounts.models import User
from hashdesk.chat.models import Message, Room
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import can_view, visible_to

QUERY_MAX = 200
WORDS_MAX = 12
LIMIT_MAX = 100
# Characters of text shown around the first match.
SNIPPET_CHARS = 160
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    message: Message
    rank: float
    snippet: str


def query_words(text: str) -> list[str]:
    """The words of a query, lower-cased, each once; ValidationFailed (``q``) without any."""
    if len(text) > QUERY_MAX:
        raise ValidationFailed(f"Search for at most {QUERY_MAX} characters.", field="q")
    words = list(dict.fromkeys(word.casefold() for word in _WORD.findall(text)))
    if not words:
        raise ValidationFailed("Search for at least one word.", field="q")
    return words[:WORDS_MAX]


def _matching(messages: QuerySet[Message], words: list[str]) -> QuerySet[Message]:
    """``messages`` containing every word, with a ``rank`` (higher is better).

    Raw SQL because the ORM has no FTS5, and its PostgreSQL search wraps the body in COALESCE,
    which the index's expression does not have. The SQL text is constant; the words are
    always parameters (S611 is about interpolated text)."""
    if connection.vendor == "postgresql":
        query = " ".join(words)
        vector = "to_tsvector('simple', chat_message.body)"
        tsquery = "plainto_tsquery('simple', %s)"
        return messages.filter(
            RawSQL(f"{vector} @@ {tsquery}", [query], output_field=BooleanField())  # noqa: S611
        ).annotate(
            rank=RawSQL(  # noqa: S611
                f"ts_rank({vector}, {tsquery})", [query], output_field=FloatField()
            )
        )
    if connection.vendor == "sqlite":
        # Each word quoted: FTS5's own syntax (NEAR, OR, column filters, '*') is not offered.
        match = " ".join('"' + word.replace('"', '""') + '"' for word in words)
        fts = "SELECT {} FROM chat_message_fts WHERE chat_message_fts MATCH %s"
        return messages.filter(
            pk__in=RawSQL(fts.format("rowid"), [match])  # noqa: S611
        ).annotate(
            # bm25 is lower for better matches; negated so that both vendors sort alike.
            rank=RawSQL(  # noqa: S611
                fts.format("-bm25(chat_message_fts)") + " AND rowid = chat_message.id",
                [match],
                output_field=FloatField(),
            )
        )
    raise ValidationFailed("Search is not available on this database.", field="q")


def search_messages(
    viewer: User, text: str, *, room: Room | None = None, limit: int = 50
) -> list[Hit]:
    """Messages ``viewer`` may see (in ``room``, or in every room they may see) that contain
    every word of ``text``: best first, newest first on ties, at most ``limit``. Three
    queries whatever the number of hits (matches, their attachments; the room check)."""
    words = query_words(text)
    limit = max(1, min(limit, LIMIT_MAX))
    messages = Message.objects.filter(deleted_at__isnull=True)
    if room is not None:
        if not can_view(viewer, room):
            raise NotFound("No such room.")
        messages = messages.filter(room=room)
    found = (
        _matching(visible_to(viewer, messages), words)
        .select_related("author", "room")
        .prefetch_related("attachments")
        .order_by("-rank", "-id")[:limit]
    )
    return [
        Hit(
            message=message,
            rank=float(getattr(message, "rank", 0.0)),
            snippet=snippet(message.body, words),
        )
        for message in found
    ]


def snippet(body: str, words: list[str]) -> str:
    """Up to ``SNIPPET_CHARS`` of ``body`` around its first matching word, escaped, with the
    query's words marked. Safe to put into a page as it is."""
    wanted = set(words)
    matches = [m for m in _WORD.finditer(body) if m.group().casefold() in wanted]
    start = 0
    if matches and matches[0].start() > SNIPPET_CHARS // 3:
        start = matches[0].start() - SNIPPET_CHARS // 3
        # Start at a word.
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < matches[0].start() else start
    end = min(len(body), start + SNIPPET_CHARS)
    parts: list[str] = ["…" if start > 0 else ""]
    position = start
    for match in matches:
        if match.start() < start:
            continue
        if match.end() > end:
            break
        parts.append(escape(body[position : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        position = match.end()
    parts.append(escape(body[position:end]))
    parts.append("…" if end < len(body) else "")
    return "".join(parts)
