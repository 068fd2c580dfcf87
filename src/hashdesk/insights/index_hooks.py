"""Signal hooks that keep the similarity index in step with the records (docs/insights.md).

Why signals rather than calls from each app's actions: every way a record is saved one at a
time (actions, the admin, the demo's ``save()`` paths, other helpers' new code) is covered
without each app having to remember. The index row is written right after the record's
transaction commits (``transaction.on_commit``, robust: a failure is logged, never undoes the
committed record), so a new item is findable as soon as it exists (measured: ~40 ms from the
start of an incident's creation to finding it, bench/insights_similar.py), a rolled-back one
never is, and the actions' own statement budgets are unchanged. Saves that only touch fields
the index does not keep (``update_fields`` without the title, body, state, service…) cost
nothing. Bulk paths (``bulk_create``, raw inserts, ``QuerySet.update``) send no signals: they
call :func:`hashdesk.insights.index.index_many` (after commit too), and the catch-up task
(insights.index_tasks) indexes anything newer than each kind's watermark every minute.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from hashdesk.insights import index

# The fields whose change re-indexes a record, by source; a save with ``update_fields`` that
# touches none of them is skipped.
WATCHED: dict[str, frozenset[str]] = {
    "incident": frozenset({"title", "description", "state", "service", "merged_into"}),
    "problem": frozenset(
        {
            "title",
            "description",
            "root_cause",
            "workaround",
            "state",
            "known_error_article",
            "known_error_published_at",
        }
    ),
    "article": frozenset({"title", "body", "state", "published_at"}),
    "post": frozenset({"body", "service", "deleted_at", "accepted_answer", "moderation"}),
    "chat": frozenset({"body", "deleted_at"}),
}


def _saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # fixtures
        return
    name = index.source_for(instance)
    if name is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not (set(update_fields) & WATCHED[name]):
        return
    answer_id = instance.accepted_answer_id if name == "post" and update_fields else None
    transaction.on_commit(lambda: _index_saved(name, instance, created, answer_id), robust=True)


def _index_saved(name: str, instance: Any, created: bool, answer_id: int | None) -> None:
    index.index_object(instance)
    if answer_id:
        # An answer was accepted: it becomes findable on its own.
        from hashdesk.wall.models import Post

        answer = Post.objects.filter(pk=answer_id).first()
        if answer is not None:
            index.index_object(answer)
    if name == "article" and not created:
        # A known error's article published or retired: its problem's known-error row follows.
        from hashdesk.problems.models import Problem

        for problem in Problem.objects.filter(known_error_article=instance).select_related(
            "known_error_article"
        ):
            index.index_object(problem)


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if index.source_for(instance) is not None:
        kind, pk = type(instance), instance.pk

        def remove() -> None:
            index.remove_object(kind(pk=pk))

        transaction.on_commit(remove, robust=True)


def _services_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear") and index.source_for(instance):
        transaction.on_commit(lambda: index.index_object(instance), robust=True)


def connect() -> None:
    from django.apps import apps

    for name, source in index.SOURCES.items():
        model = apps.get_model(source.model_path)
        uid = f"insights-index-{name}"
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}-delete")
        if name in ("problem", "article"):
            m2m_changed.connect(
                _services_changed,
                sender=model.services.through,
                dispatch_uid=f"{uid}-services",
            )


connect()
