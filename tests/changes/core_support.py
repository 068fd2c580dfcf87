"""Fixtures' helpers for the change-record tests: a small graph and changes made through the
actions (docs/changes.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes import actions
from hashdesk.changes.models import Change

ALL_ANSWERS_SAFE = {
    "tested_in_staging": True,
    "backout_tested": True,
    "outage_expected": False,
    "done_before": True,
    "users_must_act": False,
}


def soon(days: int = 10, hours: int = 0) -> datetime:
    """A whole hour ``days`` ahead, so no test plans in the past."""
    base = timezone.now().replace(minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hours)


def new_change(actor: User, services: list[Service], **fields: Any) -> Change:
    fields.setdefault("summary", "Upgrade the VPN concentrators")
    fields.setdefault("implementation_plan", "Fail over, upgrade, fail back.")
    fields.setdefault("backout_plan", "Reinstall the previous image.")
    fields.setdefault("planned_start", soon())
    fields.setdefault("planned_end", soon(hours=2))
    fields.setdefault("risk_answers", ALL_ANSWERS_SAFE)
    return actions.do_create_change(actor, services=services, **fields)


def move(actor: User, change: Change, to_state: str, **kwargs: Any) -> Change:
    change.refresh_from_db()
    return actions.do_transition(actor, change, to_state, expected_version=change.version, **kwargs)
