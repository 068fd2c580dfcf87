"""Moments sent to the API (api.schemas.Moment)."""

from __future__ import annotations


def test_moments_with_any_offset_are_read_in_utc() -> None:
    """ISO 8601 allows offsets PostgreSQL refuses (+21:46): the API holds every moment in UTC."""
    from datetime import UTC, datetime

    from pydantic import TypeAdapter, ValidationError

    from hashdesk.api.schemas import Moment

    moment = TypeAdapter(Moment).validate_python("0309-07-17T09:00:20.6+21:46")
    assert moment.tzinfo == UTC and moment == datetime(309, 7, 16, 11, 14, 20, 600000, tzinfo=UTC)
    try:
        TypeAdapter(Moment).validate_python("0001-01-01T00:00:00+05:00")
    except ValidationError as error:
        assert "out of range" in str(error)
    else:
        raise AssertionError("a moment before the calendar must be refused")
