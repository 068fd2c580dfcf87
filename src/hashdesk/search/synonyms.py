"""Synonyms as query expansion (docs/search.md): editing them, and the analysed map the query
reads (cached per process for ``TTL`` seconds, dropped at once in the process that edits)."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from hashdesk.audit import trail
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.visibility import is_administrator
from hashdesk.insights import text as analyser
from hashdesk.search.models import Synonym

TTL = 60.0
Phrase = tuple[str, ...]

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[Phrase, set[Phrase]]]] = {}


def _phrase(words: str) -> Phrase:
    return tuple(analyser.tokens(words))


def expansion_map() -> dict[Phrase, set[Phrase]]:
    """analysed phrase → the analysed phrases it also matches (both ways, not transitive)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get("map")
    if hit is not None and now - hit[0] < TTL:
        return hit[1]
    mapping: dict[Phrase, set[Phrase]] = {}
    for term, words in Synonym.objects.values_list("term", "synonyms"):
        key = _phrase(term)
        if not key:
            continue
        for word in words.split(","):
            other = _phrase(word)
            if other and other != key:
                mapping.setdefault(key, set()).add(other)
                mapping.setdefault(other, set()).add(key)
    with _lock:
        _cache["map"] = (now, mapping)
    return mapping


def forget() -> None:
    with _lock:
        _cache.clear()


def _clean(term: str, words: str) -> tuple[str, str]:
    term = " ".join(term.lower().split())
    parts = [" ".join(part.lower().split()) for part in words.split(",")]
    parts = [part for part in dict.fromkeys(parts) if part and part != term]
    if not term or not _phrase(term):
        raise ValidationFailed("Give a word to expand.", field="term")
    if not parts:
        raise ValidationFailed("Give at least one synonym.", field="synonyms")
    joined = ", ".join(parts)
    if len(term) > 60:
        raise ValidationFailed("The word is too long (60 characters at most).", field="term")
    if len(joined) > 300:
        raise ValidationFailed("Too many synonyms (300 characters at most).", field="synonyms")
    return term, joined


def _require_admin(actor: Any) -> None:
    if not is_administrator(actor):
        raise Forbidden("Only administrators edit search synonyms.")


def do_save_synonym(actor: Any, term: str, words: str) -> Synonym:
    """Create or replace the synonyms of ``term`` (administrators)."""
    _require_admin(actor)
    term, joined = _clean(term, words)
    with transaction.atomic():
        existing = Synonym.objects.select_for_update().filter(term=term).first()
        before = {"synonyms": existing.synonyms} if existing else None
        synonym, _created = Synonym.objects.update_or_create(
            term=term,
            defaults={"synonyms": joined, "updated_at": timezone.now(), "updated_by": actor},
        )
        trail.record(
            actor=actor,
            action="search.synonym.save",
            obj=synonym,
            before=before,
            after={"term": term, "synonyms": joined},
        )
    forget()
    return synonym


def do_delete_synonym(actor: Any, synonym: Synonym) -> None:
    _require_admin(actor)
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="search.synonym.delete",
            obj=synonym,
            before={"term": synonym.term, "synonyms": synonym.synonyms},
        )
        synonym.delete()
    forget()
