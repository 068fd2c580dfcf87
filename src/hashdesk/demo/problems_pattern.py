"""Story 4 of the product: a recurring problem nobody has named yet (docs/insights.md).

Over the last six weeks, fourteen people at three sites reported Outlook crashing when they
open a calendar invitation with an attachment — each in their own words, on the E-mail service
— and a few said so on the wall. Nobody linked the reports. The recurring-pattern detector
(``insights.candidates.refresh_candidates``), run at the end of this step, groups them into a
problem candidate with its evidence, ready for the problem manager.

The reports are made through the product's own actions (``do_create_incident``, ``do_post``)
and then dated back over the six weeks. Idempotent: an organisation that already has these
reports gets nothing new (the clustering still runs, and changes nothing if nothing changed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import staff_condition

SITES = ("Building A", "Building B", "Building C")

# (title, description): the same fault in fourteen people's words.
OUTLOOK_REPORTS: tuple[tuple[str, str], ...] = (
    (
        "Outlook crashes when I open a calendar attachment",
        "Every time I open the PDF attached to a meeting invitation Outlook closes without a "
        "message.",
    ),
    (
        "Outlook closes when opening attachment in calendar invite",
        "Opening the agenda attached to a calendar invite makes Outlook crash.",
    ),
    (
        "Outlook crash on calendar invitation attachments",
        "Outlook crashes as soon as I double-click the attachment of a calendar invitation.",
    ),
    (
        "Calendar attachment crashes Outlook",
        "I cannot open attachments in calendar items, Outlook just crashes and restarts.",
    ),
    (
        "Outlook stops working when opening meeting attachment",
        "Outlook crashes when I open the attachment of a meeting in my calendar.",
    ),
    (
        "Outlook crashing on calendar attachments again",
        "Outlook crashed again when I opened the slides attached to a calendar invitation.",
    ),
    (
        "Outlook quits opening attachment from calendar",
        "Clicking an attachment in a calendar appointment crashes Outlook every time.",
    ),
    (
        "Crash in Outlook when opening invitation attachment",
        "Outlook crashes opening the Word attachment of a calendar invitation from a customer.",
    ),
    (
        "Outlook calendar: attachment makes it crash",
        "When I open an attachment from a calendar entry Outlook crashes and I lose my draft.",
    ),
    (
        "Outlook crashes with attachments in calendar invites",
        "Attachments in calendar invites crash Outlook; the same file opens fine from an e-mail.",
    ),
    (
        "Outlook crashes opening calendar attachment",
        "Outlook crashes when opening the attachment of a recurring calendar meeting.",
    ),
    (
        "Outlook keeps crashing on calendar invitation attachments",
        "Still happening: Outlook crashes whenever I open an attachment in a calendar invitation.",
    ),
    (
        "Opening calendar attachment crashes Outlook",
        "Outlook crashes when I open an Excel attachment from a calendar invitation.",
    ),
    (
        "Outlook crash: attachments in calendar meetings",
        "Third time this week Outlook crashed when I opened the attachment of a calendar "
        "meeting!!!",
    ),
)

OUTLOOK_POSTS: tuple[str, ...] = (
    "#email Outlook crashed again when I opened the attachment in a calendar invite. Anyone else?",
    "#email Same here: calendar invitation attachments crash Outlook every time.",
    "#email Outlook crashes on calendar attachments for our whole team, third time this week.",
)


def reporters(count: int, *, sites: Sequence[str] = SITES, skip: int = 0) -> list[User]:
    """``count`` requesters spread evenly over ``sites`` (the first ``skip`` of each passed)."""
    staff = staff_condition()
    per_site = -(-count // len(sites))
    chosen: list[User] = []
    pools = {
        site: list(
            User.objects.filter(site=site, is_active=True)
            .exclude(pk__in=User.objects.filter(staff).values("pk"))
            .order_by("email")[skip : skip + per_site]
        )
        for site in sites
    }
    for index in range(per_site):
        for site in sites:
            if len(chosen) < count and index < len(pools[site]):
                chosen.append(pools[site][index])
    return chosen


def report_times(count: int, now: datetime, *, weeks: int = 6) -> list[datetime]:
    """``count`` moments spread over the last ``weeks`` weeks, a little denser lately."""
    span = timedelta(weeks=weeks) - timedelta(hours=6)
    return [now - span * ((1 - (index + 0.5) / count) ** 1.3) for index in range(count)]


def make_outlook_incidents(service: Service, people: Sequence[User], now: datetime) -> list[int]:
    """The fourteen incidents, reported by ``people`` (one each) and dated back."""
    from hashdesk.incidents.actions import do_create_incident
    from hashdesk.incidents.models import Incident

    ids = []
    moments = report_times(len(OUTLOOK_REPORTS), now)
    for (title, description), person, moment in zip(OUTLOOK_REPORTS, people, moments, strict=False):
        incident = do_create_incident(
            person, title=title, description=description, service=service, category="software"
        )
        Incident.objects.filter(pk=incident.pk).update(created_at=moment, updated_at=moment)
        ids.append(incident.pk)
    return ids


def load_outlook_pattern(progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Add the story's reports if missing, then run the clustering job."""
    from hashdesk.incidents.models import Incident
    from hashdesk.insights.candidates import refresh_candidates
    from hashdesk.wall.actions import do_post
    from hashdesk.wall.models import Post

    say = progress or (lambda _line: None)
    created = {"story 4 incidents": 0, "story 4 posts": 0}
    service = Service.objects.filter(hashtag="email").first()
    if service is None:
        return {}
    now = timezone.now()
    titles = [title for title, _ in OUTLOOK_REPORTS]
    if not Incident.objects.filter(service=service, title__in=titles).exists():
        people = reporters(len(OUTLOOK_REPORTS))
        if len(people) == len(OUTLOOK_REPORTS):
            created["story 4 incidents"] = len(make_outlook_incidents(service, people, now))
    if not Post.objects.filter(body__in=OUTLOOK_POSTS).exists():
        posters = reporters(len(OUTLOOK_POSTS), skip=6)
        for body, person, moment in zip(
            OUTLOOK_POSTS, posters, report_times(len(OUTLOOK_POSTS), now, weeks=2), strict=False
        ):
            post = do_post(person, body=body)
            Post.objects.filter(pk=post.pk).update(created_at=moment)
            created["story 4 posts"] += 1
    say("recurring-pattern candidates")
    stats = refresh_candidates(now=now)
    created["problem candidates"] = stats["created"]
    return {kind: count for kind, count in created.items() if count}
