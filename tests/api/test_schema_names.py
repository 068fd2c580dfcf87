"""Every API schema has a name of its own.

django-ninja names an OpenAPI component after the schema class, so two response schemas with the
same class name in different apps silently share one component: the document then describes one
endpoint with the other's shape (a search result validated as a chat search result). Query and
body parameter schemas are flattened into the operation and never become components, but are
held to the same rule, so a later reuse as a response cannot collide.
"""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import hashdesk.api.main  # noqa: F401  (imports every router, so every schema exists)


def _schemas() -> list[type[Schema]]:
    found: list[type[Schema]] = []
    pending = list(Schema.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("hashdesk."):
            found.append(cls)
    return found


def _shape(cls: type[Schema]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, repr(field.annotation)) for name, field in cls.model_fields.items()))


def test_no_two_schemas_of_different_shapes_share_a_name() -> None:
    by_name: dict[str, set[tuple[tuple[str, str], ...]]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    for cls in _schemas():
        by_name[cls.__name__].add(_shape(cls))
        where[cls.__name__].add(cls.__module__)
    clashes = {name: sorted(where[name]) for name, shapes in by_name.items() if len(shapes) > 1}
    assert clashes == {}
