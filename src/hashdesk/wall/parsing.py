"""Reading a post's text: its #hashtags, its @mentions and its HTML (docs/wall.md).

A hashtag is ``#`` followed by a letter and up to 49 letters, digits, ``_`` or ``-`` (the same
shape as a service's hashtag, hashdesk.catalog.models); it is stored lower case. A mention is
``@`` followed by a person's handle: the local part of their email address (``@ana.lopez`` for
ana.lopez@example.org), matched case-insensitively. Neither may follow a letter or digit, so an
email address in the text is neither a mention nor a tag.

The HTML is core.markup's sanitised markdown; hashtags and resolved mentions in its text (never
inside code, links or attributes) then become links to their timelines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape

from django.db.models import Q

from hashdesk.accounts.models import User
from hashdesk.core.markup import render_markdown
from hashdesk.core.visibility import person_condition
from hashdesk.wall.models import HASHTAG_MAX

HASHTAG_RE = re.compile(
    rf"(?<![\w#&/])#([A-Za-z][A-Za-z0-9_-]{{0,{HASHTAG_MAX - 1}}})(?![A-Za-z0-9_])"
)
# The local part of an email address, without a trailing dot (the end of a sentence).
MENTION_RE = re.compile(r"(?<![\w.@/])@([A-Za-z0-9](?:[A-Za-z0-9._+-]{0,62}[A-Za-z0-9_+-])?)")

HASHTAG_URL = "/wall/tags/{name}/"
PERSON_URL = "/wall/people/{pk}/"

# Markup inside which text is shown as written (code) or is already a link.
_LITERAL_TAGS = {"a", "code", "pre"}
_TAG_RE = re.compile(r"(<[^>]*>)")
_TAG_NAME_RE = re.compile(r"<\s*(/?)\s*([A-Za-z0-9]+)")


def hashtags(text: str) -> list[str]:
    """The distinct hashtags of ``text``, lower case, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        seen.setdefault(match.group(1).rstrip("-").lower(), None)
    return list(seen)


def handles(text: str) -> list[str]:
    """The distinct @handles of ``text``, lower case, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def resolve_handles(names: Iterable[str]) -> dict[str, User]:
    """Active people by handle; a handle shared by two people, or by nobody, stays plain text.
    An integration's account is no person: its handle stays plain text too.

    One query, whatever the number of handles.
    """
    wanted = list(dict.fromkeys(name.lower() for name in names))
    if not wanted:
        return {}
    condition = Q(pk__in=[])
    for name in wanted:
        condition |= Q(email__istartswith=f"{name}@")
    found: dict[str, list[User]] = {}
    for person in User.objects.filter(condition, person_condition(), is_active=True):
        local = person.email.rsplit("@", 1)[0].lower()
        if local in wanted:
            found.setdefault(local, []).append(person)
    return {name: people[0] for name, people in found.items() if len(people) == 1}


def _link_text(text: str, tag_names: set[str], people: Mapping[str, User]) -> str:
    """Link hashtags and mentions inside an HTML text node (already escaped by the renderer)."""

    def hashtag(match: re.Match[str]) -> str:
        name = match.group(1).rstrip("-").lower()
        if name not in tag_names:
            return match.group(0)
        url = escape(HASHTAG_URL.format(name=name))
        return f'<a class="hashtag" href="{url}">{match.group(0)}</a>'

    def mention(match: re.Match[str]) -> str:
        person = people.get(match.group(1).lower())
        if person is None:
            return match.group(0)
        url = escape(PERSON_URL.format(pk=person.pk))
        title = escape(person.display_name)
        return f'<a class="mention" href="{url}" title="{title}">{match.group(0)}</a>'

    return MENTION_RE.sub(mention, HASHTAG_RE.sub(hashtag, text))


def render(text: str, *, tag_names: Iterable[str], people: Mapping[str, User]) -> str:
    """``text`` as sanitised HTML with its hashtags and resolved mentions linked."""
    html = render_markdown(text)
    names = set(tag_names)
    parts = _TAG_RE.split(html)
    literal_depth = 0
    for index, part in enumerate(parts):
        if index % 2 == 1:
            # A tag: count how deep we are inside code or links.
            match = _TAG_NAME_RE.match(part)
            if match and match.group(2).lower() in _LITERAL_TAGS:
                if match.group(1):
                    literal_depth = max(0, literal_depth - 1)
                elif not part.rstrip(">").endswith("/"):
                    literal_depth += 1
        elif part and literal_depth == 0:
            parts[index] = _link_text(part, names, people)
    return "".join(parts)
