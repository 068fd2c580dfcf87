"""The demo's wall: a year of posts, replies, reactions and follows, planned and written in bulk.

Like the incident history (demo/incident_loader.py), the wall is seed data, not something anyone
did now: it is written straight to the tables, the way ``wall.actions`` would have left them,
without events and without audit rows (the event log and the audit trail stay the record of
what people do). It is planned from the incidents already in the database, so it tells the same
story:

- people affected by an incident post about it with the service's ``#hashtag`` around the time
  they were affected — the first ones a little before the incident was recorded (the burst that
  caused it); posts of incidents reported on the wall are linked to them (``post.incident``),
  as a promotion links them; other affected people say "me too" on the first post and an agent
  replies, mentioning its author;
- the worst incidents (major, or many people affected) are bursts of dozens of posts in an hour;
- public updates of public incidents become official posts, as ``publish_official_update`` does;
- free topics (#lunch, #office-move, #printer-3rd-floor, ...) with replies, likes and thanks;
- a few announcements by staff, the latest pinned;
- people follow the services they posted about and some of the topics;
- the recent weeks are denser, a steady trickle runs over the last seven days and a small burst
  on one service falls in the last hour, so "last hour" and trending have something to show.

The same seed, count, ``now`` and incidents give the same wall. Every text is written here or
is an incident's title, so nothing needs redaction. Counters (replies, likes, me too, thanks)
match the rows written. The wall is loaded only into a database without posts: a second run
adds nothing. Without incidents only free topics and announcements are written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone

from hashdesk.accounts.choices import STAFF_ROLES
from hashdesk.accounts.models import User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.demo.incidents import (
    CURRENT_OUTAGE,
    DEMO_INCIDENTS,
    HOUR_WEIGHTS,
    LOCAL_ZONE,
    WEEKDAY_WEIGHTS,
)
from hashdesk.demo.people import plan_people
from hashdesk.incidents.choices import Channel, TimelineKind
from hashdesk.incidents.models import AffectedUser, Incident, TimelineEntry
from hashdesk.wall.choices import FollowKind, PostKind, ReactionKind
from hashdesk.wall.models import Follow, Hashtag, Post, Reaction
from hashdesk.wall.parsing import hashtags as parse_hashtags
from hashdesk.wall.parsing import render

DEMO_POSTS = 20_000
HISTORY_DAYS = 365
BATCH = 1_000
# Shares of the posts: about incidents (with their replies), the recent trickle, announcements;
# free topics take the rest.
INCIDENT_SHARE = 0.55
RECENT_SHARE = 0.06
# Incidents with at least this many affected people are bursts: most of them post.
BURST_AFFECTED = 8
# Posts on one service in the hour before the demo starts: enough to trend, not a flood.
LAST_HOUR_BURST = 24
FREE_TOPICS = {
    "lunch": (
        "The canteen has lasagne today, get there before 12:30 #lunch",
        "Anyone up for the Thai place around the corner? #lunch at 12:15",
        "Salad bar is closed for cleaning, sandwiches at the kiosk instead #lunch",
        "Pizza Friday in the 2nd floor kitchen, bring a plate #lunch",
    ),
    "office-move": (
        "Boxes for the #office-move are in the basement, take what you need",
        "Which floor does Finance move to? The plan for the #office-move is not clear to me",
        "Desks in Building B are labelled now #office-move",
        "Please empty your lockers by Thursday #office-move",
    ),
    "printer-3rd-floor": (
        "Paper jam again on the #printer-3rd-floor, tray 2",
        "The #printer-3rd-floor is out of toner, the spare is in the cupboard next to it",
        "Colour prints come out striped on the #printer-3rd-floor",
    ),
    "coffee": (
        "New beans in the kitchen, the machine on floor 1 is refilled #coffee",
        "The #coffee machine in Building A shows 'descale' again",
        "Oat milk is back in the fridge #coffee",
    ),
    "parking": (
        "Garage level -2 is closed for cleaning tomorrow #parking",
        "Someone left their lights on, grey estate car by the entrance #parking",
    ),
    "kudos": (
        "Big thanks to the desk for sorting out my laptop in ten minutes #kudos",
        "Shout-out to everyone who helped with the quarter close #kudos",
        "The new joiner guide is great, thanks to whoever wrote it #kudos",
    ),
    "bike-to-work": (
        "Bike racks behind Building C have space again #bike-to-work",
        "Who joins the #bike-to-work challenge this month?",
    ),
}
FREE_REPLIES = (
    "Same here", "Thanks for the heads-up!", "Good to know", "On my way", "Count me in",
    "Finally!", "Thanks, noted", "Is that today or tomorrow?",
)  # fmt: skip
INCIDENT_OPENERS = (
    "#{tag} {title}. Anyone else?",
    "Is #{tag} down? {title}",
    "{title} since {since} #{tag}",
    "#{tag} {title} — is it just me?",
    "{title}. Tried twice, same thing #{tag}",
)
INCIDENT_FOLLOWERS = (
    "Same for me on #{tag}",
    "#{tag} not working here either ({site})",
    "Also broken for our team #{tag}",
    "#{tag} still down for me",
    "Me too, #{tag} since {since}",
    "Can confirm, #{tag} {title_lower}",
)
AGENT_REPLIES = (
    "@{handle} thanks for reporting, we are looking into it.",
    "@{handle} we know about it and are working on it. Updates follow here.",
    "@{handle} thanks, tracked as {number}. We will post when it is fixed.",
)
RECENT_COMPLAINTS = (
    "#{tag} is really slow today",
    "#{tag} asked me to sign in three times today",
    "Anyone else having trouble with #{tag}?",
    "#{tag} keeps freezing for a few seconds",
    "#{tag} error when I save, works on the second try",
)
ANNOUNCEMENTS = (
    "Planned maintenance of #{tag} on Saturday 06:00-08:00. Expect short interruptions.",
    "New laptops for the {site} roll-out start next week; the desk will contact you.",
    "Reminder: never share your password, not even with the service desk.",
    "The service desk is staffed until 20:00 during the quarter close.",
    "Phishing e-mails about a 'mailbox upgrade' are going round. Do not click; report them.",
    "The wall is the quickest way to tell us something is broken: tag the service.",
)
# Services whose outages people talk about; confidential ones stay off the demo wall.
RECENT_SERVICES = ("vpn", "email", "wifi-b", "printing", "sso", "chat", "video", "erp")


@dataclass
class PlannedPost:
    key: int
    author: int
    kind: str
    body: str
    created_at: datetime
    service: int | None = None
    incident: int | None = None
    reply_to: int | None = None
    is_pinned: bool = False
    mentions: list[int] = field(default_factory=list)
    reactions: dict[tuple[int, str], datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class _Person:
    pk: int
    handle: str
    site: str
    is_staff: bool
    teams: tuple[str, ...]


@dataclass(frozen=True)
class _Service:
    pk: int
    hashtag: str
    owner_team: str
    visibility: str


class _Planner:
    """Plans the posts from plain data read once; draws from one seeded stream."""

    def __init__(self, seed: int, count: int, now: datetime) -> None:
        self.rng = random.Random(f"hashdesk-demo-wall:{seed}")
        self.count = count
        self.now = now.astimezone(UTC)
        self.posts: list[PlannedPost] = []
        self.follows: set[tuple[int, str, int]] = set()
        # Hashtags are followed by name: their rows exist only when the wall is written.
        self.tag_follows: set[tuple[int, str]] = set()
        self._read(seed)
        self._slots()

    # What there is.

    def _read(self, seed: int) -> None:
        plans = plan_people(seed)
        pks = dict(User.objects.filter(is_active=True).values_list("email", "pk"))
        self.people: dict[int, _Person] = {}
        for plan in plans:
            if plan.email not in pks:
                continue
            self.people[pks[plan.email]] = _Person(
                pks[plan.email],
                plan.email.rsplit("@", 1)[0],
                plan.site,
                bool(set(plan.roles) & STAFF_ROLES),
                tuple(team for team, _role in plan.teams),
            )
        self.requesters = [p.pk for p in self.people.values() if not p.is_staff]
        self.staff = [p.pk for p in self.people.values() if p.is_staff]
        self.by_site: dict[str, list[int]] = {}
        for person in self.people.values():
            if not person.is_staff and person.site:
                self.by_site.setdefault(person.site, []).append(person.pk)
        self.services = {
            s["pk"]: _Service(s["pk"], s["hashtag"], s["owner_team__name"] or "", s["visibility"])
            for s in Service.objects.filter(is_active=True)
            .order_by("hashtag")
            .values("pk", "hashtag", "owner_team__name", "visibility")
        }
        self.service_by_tag = {s.hashtag: s for s in self.services.values()}

    def _slots(self) -> None:
        """Whole local hours of the year, weighted by office life and denser in recent weeks."""
        today = self.now.astimezone(LOCAL_ZONE).date()
        self.slots: list[datetime] = []
        weights: list[float] = []
        for days_ago in range(HISTORY_DAYS, -1, -1):
            day = today - timedelta(days=days_ago)
            recent = 1.0 + 3.0 * math.exp(-days_ago / 30)
            for hour in range(24):
                start = datetime.combine(day, time(hour), tzinfo=LOCAL_ZONE).astimezone(UTC)
                if start + timedelta(hours=1) > self.now:
                    break
                self.slots.append(start)
                weights.append(WEEKDAY_WEIGHTS[day.weekday()] * HOUR_WEIGHTS[hour] * recent)
        total, self.cumulative = 0.0, []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    # Helpers.

    def moment(self) -> datetime:
        slot = self.rng.choices(self.slots, cum_weights=self.cumulative)[0]
        return slot + timedelta(seconds=self.rng.randrange(3600))

    def add(self, author: int, body: str, at: datetime, **fields: Any) -> PlannedPost:
        post = PlannedPost(len(self.posts), author, fields.pop("kind", PostKind.POST), body, at)
        for name, value in fields.items():
            setattr(post, name, value)
        self.posts.append(post)
        return post

    def react(self, post: PlannedPost, user: int, kind: str, at: datetime) -> None:
        if user != post.author:
            post.reactions.setdefault((user, kind), min(at, self.now))

    def likes(self, post: PlannedPost, pool: list[int], mean: float) -> None:
        for _ in range(int(self.rng.expovariate(1 / mean)) if mean else 0):
            at = post.created_at + timedelta(minutes=self.rng.randrange(1, 600))
            self.react(post, self.rng.choice(pool), ReactionKind.LIKE, at)

    def follow(self, user: int, kind: str, target: int) -> None:
        self.follows.add((user, kind, target))

    # The parts of the wall.

    def plan(self) -> list[PlannedPost]:
        budget = self.count
        incident_budget = int(budget * INCIDENT_SHARE)
        self._incidents(incident_budget)
        self._recent(max(int(budget * RECENT_SHARE), 0))
        self._announcements(max(1, budget // 2_000) if budget >= 10 else 0)
        self._free(budget - len(self.posts))
        self.posts.sort(key=lambda p: (p.created_at, p.key))
        return self.posts

    def _incidents(self, budget: int) -> None:
        if not budget or not self.requesters:
            return
        rows = list(
            Incident.objects.filter(
                service__in=list(self.services),
                created_at__lt=self.now,
            )
            .exclude(visibility=Visibility.CONFIDENTIAL)
            .exclude(service__visibility=Visibility.CONFIDENTIAL)
            .order_by("number")
            .values("pk", "number", "title", "service_id", "created_at", "source", "visibility",
                    "is_major", "assignee_id")
        )  # fmt: skip
        if not rows:
            return
        affected: dict[int, list[tuple[int, datetime]]] = {}
        for incident_id, user_id, at in (
            AffectedUser.objects.filter(incident__in=[r["pk"] for r in rows])
            .order_by("incident_id", "added_at", "user_id")
            .values_list("incident_id", "user_id", "added_at")
        ):
            if user_id in self.people:
                affected.setdefault(incident_id, []).append((user_id, at))
        updates: dict[int, list[tuple[int, str, datetime]]] = {}
        public = [r["pk"] for r in rows if r["visibility"] == Visibility.PUBLIC]
        for incident_id, author_id, body, at in (
            TimelineEntry.objects.filter(
                incident__in=public,
                kind__in=[TimelineKind.PUBLIC_UPDATE, TimelineKind.OFFICIAL_UPDATE],
                is_public=True,
                author__isnull=False,
            )
            .order_by("incident_id", "created_at", "id")
            .values_list("incident_id", "author_id", "body", "created_at")
        ):
            person = self.people.get(author_id)
            if person is not None and person.is_staff:
                updates.setdefault(incident_id, []).append((author_id, body, at))

        # Bursts first (the big outages always make the wall), then a random share of the rest.
        bursts = [
            r for r in rows if r["is_major"] or len(affected.get(r["pk"], ())) >= BURST_AFFECTED
        ]
        others = [r for r in rows if r not in bursts and r["pk"] in affected]
        self.rng.shuffle(others)
        for row in bursts + others:
            if len(self.posts) >= budget:
                break
            self._incident(row, affected.get(row["pk"], []), updates.get(row["pk"], []))

    def _incident(
        self,
        row: Mapping[str, Any],
        affected: list[tuple[int, datetime]],
        updates: list[tuple[int, str, datetime]],
    ) -> None:
        service = self.services[row["service_id"]]
        tag = service.hashtag
        created: datetime = row["created_at"]
        title = row["title"].rstrip(".")
        burst = row["is_major"] or len(affected) >= BURST_AFFECTED
        # A post links to the incident when it came from the wall (promoted).
        link = row["pk"] if row["source"] == Channel.WALL else None
        people = [pk for pk, _at in affected if not self.people[pk].is_staff] or [
            pk for pk, _at in affected
        ]
        if not people:
            return
        reporter = people[0]
        # The first report comes a few minutes before the incident was recorded.
        opened = created - timedelta(minutes=self.rng.randint(2, 25 if burst else 10))
        values = {
            "tag": tag,
            "title": title,
            "title_lower": title[:1].lower() + title[1:],
            "since": f"{opened.astimezone(LOCAL_ZONE):%H:%M}",
            "site": self.people[reporter].site or "the office",
        }
        first = self.add(
            reporter,
            self.rng.choice(INCIDENT_OPENERS).format(**values),
            opened,
            service=service.pk,
            incident=link,
        )
        self.follow(reporter, FollowKind.SERVICE, service.pk)
        # Others affected: in a burst most post within the hour; otherwise a few say "me too".
        when = dict(affected)
        for pk in people[1:]:
            at = max(when[pk], opened + timedelta(minutes=1))
            if burst and self.rng.random() < 0.7:
                at = min(at, opened + timedelta(minutes=self.rng.randint(1, 59)))
                values["site"] = self.people[pk].site or "the office"
                post = self.add(
                    pk,
                    self.rng.choice(INCIDENT_FOLLOWERS).format(**values),
                    at,
                    service=service.pk,
                    incident=link,
                )
                self.react(post, self.rng.choice(people), ReactionKind.ME_TOO, at)
            self.react(first, pk, ReactionKind.ME_TOO, at)
            if self.rng.random() < 0.4:
                self.follow(pk, FollowKind.SERVICE, service.pk)
        # An agent of the owner team (or the assignee) answers the first post.
        agent = row["assignee_id"] if row["assignee_id"] in self.people else None
        if agent is None:
            team = [p for p in self.staff if service.owner_team in self.people[p].teams]
            agent = self.rng.choice(team or self.staff) if (team or self.staff) else None
        if agent is not None:
            reply_at = max(created, opened) + timedelta(minutes=self.rng.randint(3, 40))
            reply = self.add(
                agent,
                self.rng.choice(AGENT_REPLIES).format(
                    handle=self.people[reporter].handle, number=row["number"]
                ),
                min(reply_at, self.now),
                service=service.pk,
                incident=link,
                reply_to=first.key,
                mentions=[reporter],
            )
            self.react(reply, reporter, ReactionKind.THANKS, reply.created_at)
            self.follow(reporter, FollowKind.THREAD, first.key)
        # Official posts: the public updates by staff of a public incident.
        for author, body, at in updates[:4]:
            official = self.add(
                author, body, at, kind=PostKind.OFFICIAL, service=service.pk, incident=row["pk"]
            )
            for pk in people[: self.rng.randint(0, 6)]:
                self.react(official, pk, ReactionKind.THANKS, at + timedelta(minutes=5))

    def _recent(self, budget: int) -> None:
        """A trickle over the last seven days and a burst on one service in the last hour."""
        pool = [self.service_by_tag[t] for t in RECENT_SERVICES if t in self.service_by_tag]
        if not budget or not pool or not self.requesters:
            return
        burst_size = min(LAST_HOUR_BURST, max(3, budget // 2), budget)
        # The burst is about the outage going on now (demo/incidents.py CURRENT_OUTAGE).
        burst = self.service_by_tag.get(CURRENT_OUTAGE) or self.rng.choice(pool)
        for _ in range(burst_size):
            at = self.now - timedelta(seconds=self.rng.randrange(60, 3_300))
            self._complaint(burst, at)
        for _ in range(budget - burst_size):
            at = self.now - timedelta(seconds=self.rng.randrange(3_600, 7 * 86_400))
            self._complaint(self.rng.choice(pool), at)

    def _complaint(self, service: _Service, at: datetime) -> None:
        author = self.rng.choice(self.requesters)
        post = self.add(
            author,
            self.rng.choice(RECENT_COMPLAINTS).format(tag=service.hashtag),
            at,
            service=service.pk,
        )
        for _ in range(self.rng.randint(0, 3)):
            self.react(post, self.rng.choice(self.requesters), ReactionKind.ME_TOO, at)
        self.follow(author, FollowKind.SERVICE, service.pk)

    def _announcements(self, how_many: int) -> None:
        if not how_many or not self.staff:
            return
        tags = [t for t in RECENT_SERVICES if t in self.service_by_tag] or [""]
        moments = sorted(self.moment() for _ in range(how_many))
        for number, at in enumerate(moments):
            tag = self.rng.choice(tags)
            text = self.rng.choice(ANNOUNCEMENTS if tag else ANNOUNCEMENTS[1:])
            site = self.rng.choice(sorted(self.by_site) or ["Building A"])
            service = self.service_by_tag.get(tag)
            post = self.add(
                self.rng.choice(self.staff),
                text.format(tag=tag, site=site),
                at,
                kind=PostKind.ANNOUNCEMENT,
                service=service.pk if service and "#" in text else None,
                # The latest few stay pinned.
                is_pinned=number >= how_many - 3,
            )
            self.likes(post, self.requesters, 4)

    def _free(self, budget: int) -> None:
        people = self.requesters + self.staff
        if budget <= 0 or not people:
            return
        topics = sorted(FREE_TOPICS)
        while budget > 0:
            topic = self.rng.choice(topics)
            author = self.rng.choice(people)
            at = self.moment()
            post = self.add(author, self.rng.choice(FREE_TOPICS[topic]), at)
            budget -= 1
            self.likes(post, people, 1.5)
            if self.rng.random() < 0.3:
                self.tag_follows.add((author, topic))
            # Some posts get a short thread.
            for _ in range(min(budget, self.rng.choice((0, 0, 0, 1, 1, 2)))):
                replier = self.rng.choice(people)
                reply_at = min(at + timedelta(minutes=self.rng.randrange(1, 180)), self.now)
                reply = self.add(
                    replier, self.rng.choice(FREE_REPLIES), reply_at, reply_to=post.key
                )
                budget -= 1
                self.react(post, replier, ReactionKind.LIKE, reply_at)
                self.likes(reply, people, 0.5)


def plan_wall(seed: int, count: int, now: datetime) -> _Planner:
    """The planned wall (posts and follows), from the people, services and incidents stored."""
    planner = _Planner(seed, count, now)
    planner.plan()
    return planner


def posts_for(incidents: int) -> int:
    """The default number of posts: in proportion to the incidents, none without incidents."""
    return round(DEMO_POSTS * incidents / DEMO_INCIDENTS)


def _batches(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _create(model: type[Model], rows: list[Any]) -> int:
    for batch in _batches(rows):
        model.objects.bulk_create(batch)  # type: ignore[attr-defined]
    return len(rows)


def load_wall(
    *,
    seed: int,
    count: int,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write about ``count`` posts of the year before ``now`` with their replies, reactions,
    hashtags, mentions and follows; returns how many rows of each kind were created.

    Call inside a transaction, after the demo organisation (and its incidents) exist. Does
    nothing when the database already has posts.
    """
    if count <= 0 or Post.objects.exists():
        return {}
    say = progress or (lambda _line: None)
    now = now or timezone.now()
    planner = plan_wall(seed, count, now)
    posts = planner.posts
    say(f"planned {len(posts)} posts")

    # Hashtags: the existing rows, then the missing ones (bound to their service).
    used = {p.key: parse_hashtags(p.body) for p in posts if p.kind != PostKind.OFFICIAL}
    names = sorted({name for tags in used.values() for name in tags})
    tags = dict(Hashtag.objects.filter(name__in=names).values_list("name", "pk"))
    services = {s.hashtag: s.pk for s in planner.services.values()}
    missing = [
        Hashtag(name=n, service_id=services.get(n), created_at=now) for n in names if n not in tags
    ]
    counts = {"hashtags": _create(Hashtag, missing)}
    tags = dict(Hashtag.objects.filter(name__in=names).values_list("name", "pk"))

    people = {u.pk: u for u in User.objects.filter(pk__in=list(planner.people))}
    html: dict[str, str] = {}

    def body_html(post: PlannedPost) -> str:
        handles = {people[pk].email.rsplit("@", 1)[0].lower(): people[pk] for pk in post.mentions}
        key = post.body if not handles else f"{post.body}\x00{sorted(handles)}"
        if key not in html:
            html[key] = render(post.body, tag_names=used.get(post.key, ()), people=handles)
        return html[key]

    reply_count: dict[int, int] = {}
    for p in posts:
        if p.reply_to is not None:
            reply_count[p.reply_to] = reply_count.get(p.reply_to, 0) + 1
    # Parents before replies, so a reply can name its parent's primary key.
    pks: dict[int, int] = {}
    written = 0
    for wave in (
        [p for p in posts if p.reply_to is None],
        [p for p in posts if p.reply_to is not None],
    ):
        objects = []
        for p in wave:
            kinds = [kind for _user, kind in p.reactions]
            parent = pks[p.reply_to] if p.reply_to is not None else None
            objects.append(
                Post(
                    author_id=p.author,
                    kind=p.kind,
                    body=p.body,
                    body_html=body_html(p),
                    service_id=p.service,
                    incident_id=p.incident,
                    reply_to_id=parent,
                    thread_root_id=parent,
                    is_pinned=p.is_pinned,
                    reply_count=reply_count.get(p.key, 0),
                    like_count=kinds.count(ReactionKind.LIKE),
                    me_too_count=kinds.count(ReactionKind.ME_TOO),
                    thanks_count=kinds.count(ReactionKind.THANKS),
                    created_at=p.created_at,
                )
            )
        for batch in _batches(objects):
            Post.objects.bulk_create(batch)
        for p, obj in zip(wave, objects, strict=True):
            pks[p.key] = obj.pk
        written += len(objects)
        say(f"{written} of {len(posts)} posts")
    counts["posts"] = written

    through_tags = Post.hashtags.through
    through_mentions = Post.mentions.through
    counts["post hashtags"] = _create(
        through_tags,
        [
            through_tags(post_id=pks[key], hashtag_id=tags[name])
            for key, names_ in used.items()
            for name in names_
        ],
    )
    counts["post mentions"] = _create(
        through_mentions,
        [through_mentions(post_id=pks[p.key], user_id=pk) for p in posts for pk in p.mentions],
    )
    counts["reactions"] = _create(
        Reaction,
        [
            Reaction(post_id=pks[p.key], user_id=user, kind=kind, created_at=at)
            for p in posts
            for (user, kind), at in p.reactions.items()
        ],
    )
    follows = []
    for user, kind, target in sorted(planner.follows):
        if kind == FollowKind.THREAD:
            target = pks[target]
        follows.append(Follow(user_id=user, kind=kind, target_id=target, created_at=now))
    for user, name in sorted(planner.tag_follows):
        follows.append(
            Follow(user_id=user, kind=FollowKind.HASHTAG, target_id=tags[name], created_at=now)
        )
    existing = set(Follow.objects.values_list("user_id", "kind", "target_id"))
    counts["follows"] = _create(
        Follow, [f for f in follows if (f.user_id, f.kind, f.target_id) not in existing]
    )
    return {kind: n for kind, n in counts.items() if n}
