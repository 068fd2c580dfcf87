"""Priority from impact and urgency, read from ``settings.INCIDENT_PRIORITY_MATRIX``.

The matrix maps ``"impact,urgency"`` (each 1 high .. 3 low) to a priority 1..5. It is validated
every time it is read, so a bad override fails loudly instead of silently mis-prioritising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

LEVELS = (1, 2, 3)
PRIORITIES = range(1, 6)


def parse_matrix(raw: Mapping[str, Any]) -> dict[tuple[int, int], int]:
    """Check that every impact/urgency pair is present with a priority 1..5."""
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("INCIDENT_PRIORITY_MATRIX must be a JSON object.")
    matrix: dict[tuple[int, int], int] = {}
    for impact in LEVELS:
        for urgency in LEVELS:
            key = f"{impact},{urgency}"
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value not in PRIORITIES:
                raise ImproperlyConfigured(
                    f"INCIDENT_PRIORITY_MATRIX[{key!r}] must be a priority from 1 to 5, "
                    f"got {value!r}."
                )
            matrix[(impact, urgency)] = value
    extra = set(raw) - {f"{i},{u}" for i in LEVELS for u in LEVELS}
    if extra:
        raise ImproperlyConfigured(
            f"INCIDENT_PRIORITY_MATRIX has unknown keys: {', '.join(sorted(extra))}."
        )
    return matrix


def priority_for(impact: int, urgency: int) -> int:
    return parse_matrix(settings.INCIDENT_PRIORITY_MATRIX)[(int(impact), int(urgency))]
