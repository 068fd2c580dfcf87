"""The demo's probable incident (story 2, docs/insights.md "Bursts").

Six people in Building B post about the Wi-Fi within the last minutes, through the wall's own
action, and the burst detector's minute job runs once — as the worker would a minute later — so
the agents' /insights/bursts/ page has a probable incident ready to promote when the demo opens.
Does nothing when a probable incident already exists, or without the Wi-Fi service or people.
"""

from __future__ import annotations

from collections.abc import Callable

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import is_staff
from hashdesk.insights.bursts import live
from hashdesk.insights.models import ProbableIncident
from hashdesk.wall.actions import do_post

REPORTS = (
    "#wifi-b keeps dropping on the 2nd floor, can't stay connected",
    "Is #wifi-b down? My laptop sees the network but gets no address",
    "#wifi-b not working in the meeting rooms of Building B",
    "No Wi-Fi in Building B since a few minutes #wifi-b",
    "#wifi-b connected but nothing loads",
    "Lost Wi-Fi in the Building B canteen #wifi-b, phone and laptop",
)


def load_burst(progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Post the burst and run the detector once; returns what was created. Call after the wall
    (the detector learns each stream's usual rate from it)."""
    say = progress or (lambda _line: None)
    if ProbableIncident.objects.exists():
        return {}
    service = Service.objects.filter(hashtag="wifi-b", is_active=True).first()
    if service is None:
        return {}
    people = [
        person
        for person in User.objects.filter(is_active=True, site="Building B").order_by("pk")[:40]
        if not is_staff(person)
    ][: len(REPORTS)]
    if len(people) < live.MIN_PEOPLE:
        return {}
    say("a burst of Wi-Fi reports in Building B")
    for person, text in zip(people, REPORTS, strict=False):
        do_post(person, body=text)
    summary = live.run_minute()
    return {"burst posts": len(people), "probable incidents": summary.raised}
