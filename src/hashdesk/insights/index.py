"""Keeping the similarity index (``insights.IndexedItem``) in step with the records it finds
(docs/insights.md).

One row per findable record: incidents, problems, known errors (a problem whose known-error
article is published; ``object_id`` is the problem's), published articles, wall posts (top-level
posts and accepted answers) and chat messages. The row holds the record's *analysed* text
(``insights.text.tokens`` of title + body, joined by spaces), its service, whether it is open and
when it was created. Visibility is never stored: insights.similar re-reads every hit through
core.visibility.

- :func:`index_object` / :func:`remove_object`: idempotent upsert / delete of one record (one
  ``INSERT … ON CONFLICT DO UPDATE`` or ``DELETE``), called by the signal hooks
  (insights.index_hooks) when a save commits, and by actions that want to be explicit.
- :func:`index_many`: the same for a batch (bulk paths: incident intake, wall ingest).
- :func:`catch_up`: indexes what bulk paths wrote without telling us (ids above each kind's
  watermark), run every minute by insights.index_tasks.
- :func:`rebuild`: everything again, from the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model, QuerySet
from django.utils import timezone

from hashdesk.insights import text as analyser
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.models import IndexedItem

# Characters of the record's title kept in the index (the column's size).
TITLE_MAX = 300
# Characters of a record's body analysed (the rest adds little to finding it).
BODY_MAX = 4_000
BATCH = 1_000

_INDEXED_FIELDS = ["service", "title", "text", "is_open", "created_at", "updated_at"]


@dataclass(frozen=True)
class Entry:
    """What the index keeps of one record."""

    kind: str
    object_id: int
    service_id: int | None
    title: str
    body: str
    is_open: bool
    created_at: datetime

    def row(self, now: datetime) -> IndexedItem:
        analysed = " ".join(analyser.tokens(analyser.joined([self.title, self.body[:BODY_MAX]])))
        return IndexedItem(
            kind=self.kind,
            object_id=self.object_id,
            service_id=self.service_id,
            title=self.title[:TITLE_MAX],
            text=analysed,
            is_open=self.is_open,
            created_at=self.created_at,
            updated_at=now,
        )


# --- What each kind of record contributes --------------------------------------------------


def _first_service_id(obj: Any, relation: str) -> int | None:
    """The first service of a many-to-many ``services`` (prefetched when in a batch)."""
    cache = getattr(obj, "_prefetched_objects_cache", {})
    if relation in cache:
        services = list(cache[relation])
        return min((service.pk for service in services), default=None)
    if obj.pk is None:
        return None
    return getattr(obj, relation).order_by("pk").values_list("pk", flat=True).first()


def _incident_entries(incident: Any) -> list[Entry]:
    from hashdesk.incidents.choices import OPEN_STATES

    return [
        Entry(
            kind=ItemKind.INCIDENT,
            object_id=incident.pk,
            service_id=incident.service_id,
            title=incident.title,
            body=incident.description,
            is_open=incident.state in OPEN_STATES and incident.merged_into_id is None,
            created_at=incident.created_at,
        )
    ]


def _problem_entries(problem: Any) -> list[Entry]:
    from hashdesk.knowledge.choices import ArticleState
    from hashdesk.problems.choices import OPEN_PROBLEM_STATES

    service_id = _first_service_id(problem, "services")
    is_open = problem.state in OPEN_PROBLEM_STATES
    entries = [
        Entry(
            kind=ItemKind.PROBLEM,
            object_id=problem.pk,
            service_id=service_id,
            title=problem.title,
            body=analyser.joined([problem.description, problem.root_cause, problem.workaround]),
            is_open=is_open,
            created_at=problem.created_at,
        )
    ]
    article = problem.known_error_article if problem.known_error_article_id else None
    if article is not None and article.state == ArticleState.PUBLISHED:
        entries.append(
            Entry(
                kind=ItemKind.KNOWN_ERROR,
                object_id=problem.pk,
                service_id=service_id,
                title=article.title or problem.title,
                body=analyser.joined([problem.title, problem.description, problem.workaround]),
                is_open=problem.state != "closed",
                created_at=problem.known_error_published_at or problem.created_at,
            )
        )
    return entries


def _article_entries(article: Any) -> list[Entry]:
    from hashdesk.knowledge.choices import ArticleState

    if article.state != ArticleState.PUBLISHED:
        return []
    return [
        Entry(
            kind=ItemKind.ARTICLE,
            object_id=article.pk,
            service_id=_first_service_id(article, "services"),
            title=article.title,
            body=article.body,
            is_open=True,
            created_at=article.published_at or article.created_at,
        )
    ]


def _post_entries(post: Any) -> list[Entry]:
    from hashdesk.wall.models import Post

    if post.deleted_at is not None:
        return []
    if post.reply_to_id is not None and not Post.objects.filter(accepted_answer=post).exists():
        # Replies are found through their thread, except answers that solved it.
        return []
    first_line = post.body.strip().splitlines()[0] if post.body.strip() else ""
    return [
        Entry(
            kind=ItemKind.POST,
            object_id=post.pk,
            service_id=post.service_id,
            title=first_line[:120],
            body=post.body,
            is_open=post.reply_to_id is not None or post.accepted_answer_id is None,
            created_at=post.created_at,
        )
    ]


def _message_entries(message: Any) -> list[Entry]:
    from hashdesk.chat.choices import MessageKind

    if message.deleted_at is not None or message.kind != MessageKind.MESSAGE:
        return []
    first_line = message.body.strip().splitlines()[0] if message.body.strip() else ""
    return [
        Entry(
            kind=ItemKind.CHAT,
            object_id=message.pk,
            service_id=message.room.service_id,
            title=first_line[:120],
            body=message.body,
            is_open=True,
            created_at=message.created_at,
        )
    ]


@dataclass(frozen=True)
class Source:
    """A kind of record the index holds: its model, and how it is read and described."""

    model_path: str
    kinds: tuple[str, ...]
    entries: Callable[[Any], list[Entry]]
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()

    @property
    def model(self) -> type[Model]:
        from django.apps import apps

        return apps.get_model(self.model_path)

    def queryset(self) -> QuerySet[Any]:
        qs = self.model._default_manager.all()
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if self.prefetch_related:
            qs = qs.prefetch_related(*self.prefetch_related)
        return qs


SOURCES: dict[str, Source] = {
    "incident": Source("incidents.Incident", (ItemKind.INCIDENT,), _incident_entries),
    "problem": Source(
        "problems.Problem",
        (ItemKind.PROBLEM, ItemKind.KNOWN_ERROR),
        _problem_entries,
        select_related=("known_error_article",),
        prefetch_related=("services",),
    ),
    "article": Source(
        "knowledge.Article", (ItemKind.ARTICLE,), _article_entries, prefetch_related=("services",)
    ),
    "post": Source("wall.Post", (ItemKind.POST,), _post_entries),
    "chat": Source("chat.Message", (ItemKind.CHAT,), _message_entries, select_related=("room",)),
}
# The index kind → the source it comes from.
SOURCE_OF_KIND = {kind: name for name, source in SOURCES.items() for kind in source.kinds}


def source_for(obj: Model) -> str | None:
    """The source name of a record, or None when the index does not hold its kind."""
    label = obj._meta.label
    for name, source in SOURCES.items():
        if source.model_path.lower() == label.lower():
            return name
    return None


# --- Writing -------------------------------------------------------------------------------


def _upsert(rows: list[IndexedItem]) -> None:
    if rows:
        IndexedItem.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kind", "object_id"],
            update_fields=_INDEXED_FIELDS,
            batch_size=BATCH,
        )


def _write(source_name: str, objects: Iterable[Any]) -> int:
    """Upsert the entries of ``objects`` and delete their kinds' rows they no longer have."""
    source = SOURCES[source_name]
    now = timezone.now()
    rows: list[IndexedItem] = []
    stale: dict[str, list[int]] = {}
    for obj in objects:
        entries = source.entries(obj)
        present = {entry.kind for entry in entries}
        rows.extend(entry.row(now) for entry in entries)
        for kind in source.kinds:
            if kind not in present:
                stale.setdefault(kind, []).append(obj.pk)
    with transaction.atomic():
        _upsert(rows)
        for kind, ids in stale.items():
            IndexedItem.objects.filter(kind=kind, object_id__in=ids).delete()
    return len(rows)


def index_object(obj: Model) -> int:
    """Upsert ``obj``'s index rows (or remove them when it is no longer findable: a draft
    article, a deleted post…). Idempotent; returns the number of rows written."""
    name = source_for(obj)
    if name is None:
        raise ValueError(f"the similarity index holds no {obj._meta.label}")
    return _write(name, [obj])


def remove_object(obj: Model) -> int:
    """Delete ``obj``'s index rows (idempotent); returns how many there were."""
    name = source_for(obj)
    if name is None or obj.pk is None:
        return 0
    deleted, _ = IndexedItem.objects.filter(kind__in=SOURCES[name].kinds, object_id=obj.pk).delete()
    return deleted


def _chunks(objects: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for obj in objects:
        chunk.append(obj)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def index_many(kind: str, objects: QuerySet[Any] | Iterable[Any]) -> int:
    """Index a batch of records of one ``kind`` (a source name or an ItemKind value: "incident",
    "problem", "known_error", "article", "post", "chat"). A queryset is read in chunks with what
    each kind needs joined; a list of objects is re-read the same way, by id."""
    name = SOURCE_OF_KIND.get(kind, kind)
    if name not in SOURCES:
        raise ValueError(f"unknown kind {kind!r}")
    source = SOURCES[name]
    if not isinstance(objects, QuerySet) and not (source.select_related or source.prefetch_related):
        # Loaded objects whose entries need nothing joined: written as they are.
        objects = list(objects)
        return sum(_write(name, chunk) for chunk in _chunks(objects, BATCH))
    if isinstance(objects, QuerySet):
        ids: Iterable[int] = objects.values_list("pk", flat=True).order_by("pk").iterator()
    else:
        ids = [obj.pk for obj in objects]
    written = 0
    for chunk in _chunks(ids, BATCH):
        written += _write(name, source.queryset().filter(pk__in=chunk))
    return written


def rebuild() -> dict[str, int]:
    """Index every record again from scratch (rows of records that are gone are removed)."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        IndexedItem.objects.all().delete()
        for name, source in SOURCES.items():
            counts[name] = index_many(name, source.model._default_manager.all())
    return counts


def catch_up() -> dict[str, int]:
    """Index records that bulk paths wrote without a signal (``bulk_create``, raw inserts):
    for each source, those with an id above the highest id the index holds for it (its
    watermark). Idempotent and cheap when nothing is new (one indexed query per source)."""
    counts: dict[str, int] = {}
    for name, source in SOURCES.items():
        watermark = (
            IndexedItem.objects.filter(kind__in=source.kinds).aggregate(top=Max("object_id"))["top"]
            or 0
        )
        new = source.model._default_manager.filter(pk__gt=watermark)
        counts[name] = index_many(name, new)
    return counts


def fts_available() -> bool:
    return connection.vendor in ("sqlite", "postgresql")
