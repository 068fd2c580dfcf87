"""The demo's chat: service rooms with a few weeks of history, and live help, written in bulk.

Like the wall (demo/wall.py), the chat is seed data, written straight to the tables the way the
chat's actions would have left them, without events, audit rows or notifications. It is planned
from what the demo already holds, so it tells the same story:

- the busiest services on the wall get a room; its members are the people who posted about the
  service and the agents of its owner team (and the demo's sign-in people where they fit);
- each room has questions with answers by agents and colleagues, some as threads, reactions and
  mentions (``@handle`` in the text, with the resolved mentions rows); the services' incidents
  of the last weeks bring bursts of "is it down?" with the desk's answer naming the incident;
- read markers leave most people a little behind, and the demo's sign-in people some unread
  messages, so /chat/ shows badges;
- live help: closed conversations (some linked to the demo's chat-reported incidents, resolved
  on first contact), a few active ones with an agent and a few waiting ones queued minutes ago,
  so /chat/queue/ has a queue;
- if a major incident is open, its war room's two lanes with members, the declaration and its
  official updates mirrored into the public lane (chat/war_rooms.py does the same live).

Every text is written here or is an incident's title or official update, so nothing needs
redaction. The chat is loaded only into a database without chat messages.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Model
from django.utils import timezone

from hashdesk.accounts.choices import STAFF_ROLES
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.chat.choices import (
    ConversationState,
    Lane,
    MemberRole,
    MessageKind,
    ReactionEmoji,
    RoomKind,
)
from hashdesk.chat.models import Conversation, Membership, Message, MessageReaction, Room
from hashdesk.core.markup import render_markdown
from hashdesk.demo.catalogue import DEMO_DOMAIN
from hashdesk.demo.incidents import DEMO_INCIDENTS, HOUR_WEIGHTS, LOCAL_ZONE, WEEKDAY_WEIGHTS
from hashdesk.demo.people import plan_people
from hashdesk.incidents.choices import OPEN_STATES, Channel, State, TimelineKind
from hashdesk.incidents.models import AffectedUser, Incident, TimelineEntry
from hashdesk.wall.models import Post

DEMO_CHAT_MESSAGES = 3_000
HISTORY_DAYS = 28
BATCH = 1_000
SERVICE_ROOMS = 8
# Most wall authors of a service who are members of its room.
ROOM_POSTERS = 40
# Share of the questions answered in a thread rather than in the room.
THREAD_SHARE = 0.3
SERVICE_DESK = "Service Desk"
SIGN_IN_REQUESTER = f"requester@{DEMO_DOMAIN}"
SIGN_IN_AGENT = f"agent@{DEMO_DOMAIN}"

QUESTIONS = (
    "Does anyone know how to reset the cache of #{tag}?",
    "Is there a way to get #{tag} on my second laptop?",
    "#{tag} asks me for a new password every morning, is that normal?",
    "Who can give me access to the shared area in #{tag}?",
    "Is there a maintenance window for #{tag} this weekend?",
    "#{tag} is slow since this morning, only me?",
    "How do I change my default settings in #{tag}?",
    "Is the new version of #{tag} already rolled out in {site}?",
)
AGENT_ANSWERS = (
    "@{handle} yes, under Settings → Advanced. If it does not help, open a ticket and we look.",
    "@{handle} I have checked, nothing known on our side. Can you try signing out and in again?",
    "@{handle} that needs a request in the portal, your manager approves it.",
    "@{handle} the roll-out for {site} is planned for next week.",
    "@{handle} we saw a spike this morning, it should be back to normal now.",
)
COLLEAGUE_ANSWERS = (
    "Same question here, following",
    "Worked for me after a restart",
    "@{handle} I had that last week, the desk fixed it in five minutes",
    "It is in the how-to on the intranet, section 3",
    "Not only you, we had it too in {site}",
)
THANKS = ("Thanks!", "That worked, thank you", "Perfect, thanks a lot", "Great, sorted")
OUTAGE_REPORTS = (
    "Is #{tag} down? {title}",
    "#{tag} not working here either ({site})",
    "Same here, #{tag} since a few minutes",
    "Anyone else? {title}",
    "#{tag} still broken for our team",
)
OUTAGE_ANSWERS = (
    "We know, tracked as {number}. Updates follow here and on the wall.",
    "Thanks all, {number} is being worked on by {team}.",
)
OUTAGE_FOLLOWUPS = ("Back for me now, thanks", "Works again here", "Confirmed, it is fixed")


@dataclass(frozen=True)
class HelpStory:
    topic: str
    hashtag: str
    opening: str
    answer: str
    reply: str


HELP_STORIES = (
    HelpStory("VPN keeps disconnecting", "vpn",
              "My VPN drops every few minutes since this morning, I am working from home.",
              "Thanks, we are looking at the VPN gateways. Does it reconnect on its own?",
              "Yes, after a minute or so."),
    HelpStory("Printer on 3rd floor prints blank pages", "printing",
              "The printer next to the kitchen on the 3rd floor only prints blank pages.",
              "Could you print a test page from the printer's own menu?", "Also blank."),
    HelpStory("Cannot open shared mailbox", "email",
              "I cannot open the team's shared mailbox in Outlook any more, it says no access.",
              "I see your access was removed by the quarterly review. I add it back now.",
              "It shows up again, thank you!"),
    HelpStory("Laptop battery drains fast", "laptops",
              "My laptop battery is empty after two hours, it used to last the whole day.",
              "That sounds like the battery is worn. Which model is it?", "The 14 inch one."),
    HelpStory("ERP report times out", "erp",
              "The monthly cost centre report in the ERP times out after five minutes.",
              "We can run it for you in the background. Which cost centre?", "4711, thanks."),
    HelpStory("Wi-Fi in Building B meeting rooms", "wifi-b",
              "The Wi-Fi in the meeting rooms of Building B keeps dropping during calls.",
              "Which room exactly? We check the access point there.", "Room B2.14."),
    HelpStory("Sign-in loop in the portal", "sso",
              "The portal sends me back to the sign-in page after I enter my code.",
              "Could you clear the cookies for the sign-in page and try again?", "That did it."),
    HelpStory("Teams calls have no sound", "video",
              "In video calls nobody hears me, the microphone works in other apps.",
              "Please check the device chosen under the call's audio settings.",
              "It had picked the docking station, works now."),
    HelpStory("Phone does not sync mail", "mobile",
              "My work phone stopped syncing mail yesterday, the laptop is fine.",
              "Please remove the account on the phone and add it again from the company app.",
              "Mail is coming in again."),
    HelpStory("Department share is empty", "fileshares",
              "The department share shows up empty on my laptop, colleagues see the files.",
              "Your laptop still maps the old server. I push the new mapping, please sign out.",
              "I see the files now."),
)  # fmt: skip
# Conversations of each state, taken from HELP_STORIES in turn.
CLOSED_PLAIN = 3
ACTIVE = 3
WAITING = 4


@dataclass
class PlannedMessage:
    key: int
    room: int  # index into the planned rooms
    author: int | None
    body: str
    created_at: datetime
    kind: str = MessageKind.MESSAGE
    thread_root: int | None = None
    mentions: list[int] = field(default_factory=list)
    reactions: dict[tuple[int, str], datetime] = field(default_factory=dict)


@dataclass
class PlannedRoom:
    kind: str
    name: str
    topic: str
    created_at: datetime
    service: int | None = None
    incident: int | None = None
    lane: str = Lane.NONE
    archived_at: datetime | None = None
    members: dict[int, str] = field(default_factory=dict)
    # How far each member has read, as a moment: they read what was sent until then.
    read_until: dict[int, datetime] = field(default_factory=dict)
    conversation: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Person:
    pk: int
    handle: str
    name: str
    site: str
    is_staff: bool


class _Planner:
    """Plans rooms and messages from plain data read once; draws from one seeded stream."""

    def __init__(self, seed: int, count: int, now: datetime) -> None:
        self.rng = random.Random(f"hashdesk-demo-chat:{seed}")
        self.count = count
        self.now = now.astimezone(UTC)
        self.rooms: list[PlannedRoom] = []
        self.messages: list[PlannedMessage] = []
        self._read(seed)

    def _read(self, seed: int) -> None:
        pks = dict(User.objects.filter(is_active=True).values_list("email", "pk"))
        self.people: dict[int, _Person] = {}
        for plan in plan_people(seed):
            if plan.email in pks:
                self.people[pks[plan.email]] = _Person(
                    pks[plan.email],
                    plan.email.rsplit("@", 1)[0],
                    plan.display_name,
                    plan.site or "the office",
                    bool(set(plan.roles) & STAFF_ROLES),
                )
        self.requester = pks.get(SIGN_IN_REQUESTER)
        self.agent = pks.get(SIGN_IN_AGENT)
        self.team_members: dict[int, list[int]] = {}
        for team_id, user_id in TeamMembership.objects.order_by("team_id", "user_id").values_list(
            "team_id", "user_id"
        ):
            if user_id in self.people and self.people[user_id].is_staff:
                self.team_members.setdefault(team_id, []).append(user_id)
        self.teams = dict(Team.objects.values_list("pk", "name"))
        self.desk_team = next((pk for pk, name in self.teams.items() if name == SERVICE_DESK), None)
        self.desk = self.team_members.get(self.desk_team or 0, []) or [
            p.pk for p in self.people.values() if p.is_staff
        ]
        self.services = {
            s["pk"]: s
            for s in Service.objects.filter(is_active=True)
            .exclude(visibility=Visibility.CONFIDENTIAL)
            .values("pk", "hashtag", "name", "owner_team_id")
        }
        self.by_tag = {s["hashtag"]: s for s in self.services.values()}

    # Helpers.

    def moment(self, start: datetime, end: datetime) -> datetime:
        """A moment between ``start`` and ``end``, weighted by office hours."""
        span = max(int((end - start).total_seconds()), 1)
        for _ in range(20):
            at = start + timedelta(seconds=self.rng.randrange(span))
            local = at.astimezone(LOCAL_ZONE)
            weight = WEEKDAY_WEIGHTS[local.weekday()] * HOUR_WEIGHTS[local.hour]
            if self.rng.random() < weight / max(HOUR_WEIGHTS):
                return at
        return at

    def add_room(self, room: PlannedRoom) -> int:
        self.rooms.append(room)
        return len(self.rooms) - 1

    def say(
        self, room: int, author: int | None, body: str, at: datetime, **fields: Any
    ) -> PlannedMessage:
        at = min(at, self.now)
        message = PlannedMessage(len(self.messages), room, author, body, at, **fields)
        self.messages.append(message)
        if author is not None:
            self.rooms[room].members.setdefault(author, MemberRole.MEMBER)
            # One has read what one wrote.
            read = self.rooms[room].read_until
            read[author] = max(read.get(author, at), at)
        return message

    def react(self, message: PlannedMessage, user: int, emoji: str) -> None:
        if user != message.author:
            at = min(message.created_at + timedelta(minutes=self.rng.randrange(1, 90)), self.now)
            message.reactions.setdefault((user, emoji), at)

    def fill(self, text: str, **values: Any) -> str:
        return text.format(**values)

    # Service rooms.

    def service_rooms(self) -> None:
        busiest = (
            Post.objects.filter(service__in=list(self.services))
            .values("service_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "service_id")[:SERVICE_ROOMS]
        )
        ranked = [(row["service_id"], row["n"]) for row in busiest]
        if not ranked:
            return
        start = self.now - timedelta(days=HISTORY_DAYS)
        total = sum(n for _pk, n in ranked)
        for service_id, n in ranked:
            service = self.services[service_id]
            room = self.add_room(
                PlannedRoom(
                    RoomKind.SERVICE,
                    f"#{service['hashtag']}",
                    f"Talk about {service['name']} with colleagues and the service desk.",
                    start - timedelta(days=1),
                    service=service_id,
                )
            )
            posters = list(
                Post.objects.filter(service_id=service_id, author_id__in=list(self.people))
                .order_by("-created_at")
                .values_list("author_id", flat=True)[: ROOM_POSTERS * 5]
            )
            people = list(dict.fromkeys(p for p in posters if not self.people[p].is_staff))
            people = people[:ROOM_POSTERS]
            agents = self.team_members.get(service["owner_team_id"], []) or self.desk[:3]
            for pk in agents:
                self.rooms[room].members[pk] = MemberRole.MODERATOR
            for pk in people:
                self.rooms[room].members.setdefault(pk, MemberRole.MEMBER)
            # The sign-in people: the requester in every room, the agent too (desk and network).
            for sign_in in (self.requester, self.agent):
                if sign_in is not None:
                    self.rooms[room].members.setdefault(sign_in, MemberRole.MEMBER)
            budget = max(4, round(self.count * n / total))
            used = self._outages(room, service, agents, people, start, budget // 3)
            self._questions(room, service, agents, people, start, budget - used)

    def _outages(
        self,
        room: int,
        service: Mapping[str, Any],
        agents: list[int],
        people: list[int],
        start: datetime,
        budget: int,
    ) -> int:
        """Bursts around the service's worst incidents of the last weeks; returns messages used."""
        rows = list(
            Incident.objects.filter(service_id=service["pk"], created_at__gte=start)
            .exclude(visibility=Visibility.CONFIDENTIAL)
            .annotate(crowd=Count("affected"))
            .order_by("-is_major", "-crowd", "created_at")
            .values("pk", "number", "title", "created_at", "resolved_at", "crowd")[:4]
        )
        used = 0
        for row in rows:
            if used >= budget or row["crowd"] < 2:
                break
            affected = [
                pk
                for pk in AffectedUser.objects.filter(incident_id=row["pk"])
                .order_by("added_at")
                .values_list("user_id", flat=True)[:12]
                if pk in self.people and not self.people[pk].is_staff
            ] or people[:6]
            at = row["created_at"] - timedelta(minutes=5)
            title = row["title"].rstrip(".")
            for index, pk in enumerate(affected[: max(2, min(8, budget - used - 2))]):
                at += timedelta(minutes=self.rng.randrange(1, 6))
                text = OUTAGE_REPORTS[index % len(OUTAGE_REPORTS)]
                self.say(room, pk, self.fill(text, tag=service["hashtag"], title=title,
                                             site=self.people[pk].site), at)  # fmt: skip
                self.rooms[room].members.setdefault(pk, MemberRole.MEMBER)
                used += 1
            agent = self.rng.choice(agents)
            team = self.teams.get(service["owner_team_id"], "the desk")
            answer = self.say(
                room,
                agent,
                self.fill(self.rng.choice(OUTAGE_ANSWERS), number=row["number"], team=team),
                at + timedelta(minutes=4),
            )
            for pk in affected:
                self.react(
                    answer, pk, self.rng.choice((ReactionEmoji.THUMBS_UP, ReactionEmoji.EYES))
                )
            used += 1
            if row["resolved_at"] is not None and row["resolved_at"] < self.now:
                done = self.say(room, affected[0], self.rng.choice(OUTAGE_FOLLOWUPS),
                                row["resolved_at"] + timedelta(minutes=3))  # fmt: skip
                self.react(done, agent, ReactionEmoji.DONE)
                used += 1
        return used

    def _questions(
        self,
        room: int,
        service: Mapping[str, Any],
        agents: list[int],
        people: list[int],
        start: datetime,
        budget: int,
    ) -> None:
        askers = people or [pk for pk in self.people if not self.people[pk].is_staff][:10]
        while budget > 0:
            asker = self.rng.choice(askers)
            person = self.people[asker]
            at = self.moment(start, self.now)
            values = {"tag": service["hashtag"], "site": person.site, "handle": person.handle}
            question = self.say(room, asker, self.fill(self.rng.choice(QUESTIONS), **values), at)
            budget -= 1
            threaded = self.rng.random() < THREAD_SHARE
            root = question.key if threaded else None
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                if budget <= 0:
                    break
                at += timedelta(minutes=self.rng.randrange(2, 40))
                if self.rng.random() < 0.6:
                    author, texts = self.rng.choice(agents), AGENT_ANSWERS
                else:
                    author, texts = self.rng.choice(askers), COLLEAGUE_ANSWERS
                if author == asker:
                    continue
                text = self.fill(self.rng.choice(texts), **values)
                mentions = [asker] if f"@{person.handle}" in text else []
                answer = self.say(room, author, text, at, thread_root=root, mentions=mentions)
                budget -= 1
                self.react(answer, asker, self.rng.choice((ReactionEmoji.THUMBS_UP,
                                                           ReactionEmoji.THANKS)))  # fmt: skip
                for _ in range(self.rng.randrange(3)):
                    self.react(answer, self.rng.choice(askers), ReactionEmoji.THUMBS_UP)
            if budget > 0 and self.rng.random() < 0.4:
                at += timedelta(minutes=self.rng.randrange(1, 20))
                self.say(room, asker, self.rng.choice(THANKS), at, thread_root=root)
                budget -= 1

    def read_markers(self) -> None:
        """Most members read the room now and then; the sign-in people are a few messages behind."""
        for room in self.rooms:
            if room.kind != RoomKind.SERVICE:
                continue
            times = sorted(m.created_at for m in self.messages if m.room == self.rooms.index(room))
            for pk in room.members:
                last = room.read_until.get(pk, room.created_at)
                if pk in (self.requester, self.agent) and len(times) > 3:
                    # Their own messages are read anyway (sending moves the marker).
                    seen = times[-self.rng.randrange(3, min(12, len(times)))]
                    room.read_until[pk] = max(last, seen - timedelta(seconds=1))
                else:
                    seen = self.now - timedelta(hours=self.rng.randrange(0, 24 * 10))
                    room.read_until[pk] = max(last, seen)

    # Live help.

    def live_help(self) -> None:
        stories = [s for s in HELP_STORIES if s.hashtag in self.by_tag] or list(HELP_STORIES)
        requesters = [p.pk for p in self.people.values() if not p.is_staff]
        if not requesters or not self.desk:
            return
        self._filed(requesters)
        order = list(stories)
        self.rng.shuffle(order)
        # Each story once: closed ones first, then those with an agent, then the waiting ones.
        active = order[CLOSED_PLAIN : CLOSED_PLAIN + ACTIVE]
        waiting = order[CLOSED_PLAIN + ACTIVE : CLOSED_PLAIN + ACTIVE + WAITING]
        for story in order[:CLOSED_PLAIN]:
            asker = self.rng.choice(requesters)
            queued = self.moment(
                self.now - timedelta(days=HISTORY_DAYS), self.now - timedelta(days=1)
            )
            self._conversation(story, asker, queued, ConversationState.CLOSED)
        agents = [self.agent] if self.agent is not None else []
        # The demo agent has exactly one conversation going; colleagues have the others.
        colleagues = [person for person in self.desk if person != self.agent] or self.desk
        for index, story in enumerate(active):
            asker = self.rng.choice(requesters)
            queued = self.now - timedelta(minutes=self.rng.randrange(15, 50))
            agent = agents[0] if index == 0 and agents else self.rng.choice(colleagues)
            self._conversation(story, asker, queued, ConversationState.ACTIVE, agent=agent)
        for index, story in enumerate(waiting):
            asker = self.requester if index == 0 and self.requester else self.rng.choice(requesters)
            queued = self.now - timedelta(minutes=2 + 4 * index, seconds=self.rng.randrange(60))
            self._conversation(story, asker, queued, ConversationState.WAITING)

    def _conversation(
        self,
        story: HelpStory,
        asker: int,
        queued: datetime,
        state: str,
        *,
        agent: int | None = None,
        incident: Mapping[str, Any] | None = None,
    ) -> None:
        service = self.by_tag.get(story.hashtag)
        topic = incident["title"][:200] if incident else story.topic
        room = self.add_room(
            PlannedRoom(RoomKind.HELP, f"Help: {topic}"[:120], topic, queued,
                        service=service["pk"] if service else None)
        )  # fmt: skip
        self.say(room, asker, incident["title"] if incident else story.opening, queued)
        conversation: dict[str, Any] = {
            "requester": asker,
            "topic": topic,
            "service": service["pk"] if service else None,
            "team": service["owner_team_id"] if service else self.desk_team,
            "state": state,
            "queued_at": queued,
        }
        self.rooms[room].conversation = conversation
        if state == ConversationState.WAITING:
            return
        agent = agent or self.rng.choice(self.desk)
        picked = queued + timedelta(minutes=self.rng.randrange(1, 6))
        self.rooms[room].members[agent] = MemberRole.MODERATOR
        self.say(room, None, f"{self.people[agent].name} joined", picked, kind=MessageKind.SYSTEM)
        self.say(room, agent, story.answer, picked + timedelta(minutes=1))
        reply = self.say(room, asker, story.reply, picked + timedelta(minutes=3))
        conversation.update(agent=agent, picked_up_at=picked)
        if state == ConversationState.ACTIVE:
            # The agent has not read the requester's last answer yet: it shows as unread.
            self.rooms[room].read_until[agent] = reply.created_at - timedelta(seconds=1)
            return
        closed = picked + timedelta(minutes=self.rng.randrange(6, 15))
        if incident is not None:
            self.say(room, None, f"Filed as {incident['number']}", closed - timedelta(minutes=1),
                     kind=MessageKind.SYSTEM)  # fmt: skip
            conversation.update(incident=incident["pk"], resolved_on_first_contact=True)
        outcome = "resolved"
        self.say(room, None, f"{self.people[agent].name} closed the conversation ({outcome})",
                 closed, kind=MessageKind.SYSTEM)  # fmt: skip
        conversation.update(closed_at=closed, closed_by=agent)
        self.rooms[room].archived_at = closed
        for pk in self.rooms[room].members:
            self.rooms[room].read_until[pk] = closed

    def _filed(self, requesters: list[int]) -> None:
        """Chat-reported incidents resolved quickly become the conversations they were filed
        from, resolved on first contact."""
        rows = (
            Incident.objects.filter(
                source=Channel.CHAT,
                state__in=[State.RESOLVED, State.CLOSED],
                service__in=list(self.services),
                reporter__in=requesters,
                created_at__gte=self.now - timedelta(days=HISTORY_DAYS),
                resolved_at__isnull=False,
            )
            .exclude(visibility=Visibility.CONFIDENTIAL)
            .order_by("-created_at")
            .values("pk", "number", "title", "service__hashtag", "reporter_id", "created_at",
                    "assignee_id")[:4]
        )  # fmt: skip
        for row in rows:
            tag = row["service__hashtag"]
            story = next((s for s in HELP_STORIES if s.hashtag == tag), None) or HelpStory(
                row["title"], tag, row["title"],
                "Thanks, I can fix that for you right away.", "Works now, thanks!",
            )  # fmt: skip
            agent = row["assignee_id"] if row["assignee_id"] in self.desk else None
            self._conversation(story, row["reporter_id"], row["created_at"] - timedelta(minutes=8),
                               ConversationState.CLOSED, agent=agent, incident=row)  # fmt: skip

    # A major incident going on now.

    def war_room(self) -> None:
        incident = (
            Incident.objects.filter(is_major=True, state__in=OPEN_STATES)
            .exclude(visibility=Visibility.CONFIDENTIAL)
            .order_by("-major_declared_at", "-pk")
            .values("pk", "number", "commander_id", "major_declared_at", "created_at",
                    "service_id")
            .first()
        )  # fmt: skip
        if incident is None:
            return
        declared = incident["major_declared_at"] or incident["created_at"]
        leaders = [pk for pk in (incident["commander_id"],) if pk in self.people] or self.desk[:1]
        commander = self.people[leaders[0]].name
        affected = [
            pk
            for pk in AffectedUser.objects.filter(incident_id=incident["pk"]).values_list(
                "user_id", flat=True
            )
            if pk in self.people
        ]
        text = f"{incident['number']} was declared a major incident. Commander: {commander}"
        for lane, label in ((Lane.RESPONDERS, "responders"), (Lane.PUBLIC, "updates")):
            room = self.add_room(
                PlannedRoom(RoomKind.WAR_ROOM, f"{incident['number']} {label}", "", declared,
                            service=incident["service_id"], incident=incident["pk"], lane=lane)
            )  # fmt: skip
            for pk in leaders:
                self.rooms[room].members[pk] = MemberRole.MODERATOR
            self.say(room, None, text, declared, kind=MessageKind.SYSTEM)
            if lane == Lane.PUBLIC:
                for pk in affected:
                    self.rooms[room].members.setdefault(pk, MemberRole.MEMBER)
                for author, body, at in (
                    TimelineEntry.objects.filter(
                        incident_id=incident["pk"], kind=TimelineKind.OFFICIAL_UPDATE
                    )
                    .order_by("created_at", "pk")
                    .values_list("author_id", "body", "created_at")
                ):
                    self.say(room, author if author in self.people else None, body, at,
                             kind=MessageKind.OFFICIAL)  # fmt: skip
            else:
                self.say(room, leaders[0], "Gateways checked, failover started.",
                         declared + timedelta(minutes=5))  # fmt: skip


def plan_chat(seed: int, count: int, now: datetime) -> _Planner:
    """The planned chat (rooms, members, messages), from what the demo has stored."""
    planner = _Planner(seed, count, now)
    planner.service_rooms()
    planner.read_markers()
    planner.live_help()
    planner.war_room()
    planner.messages.sort(key=lambda m: (m.created_at, m.key))
    return planner


def chat_messages_for(incidents: int) -> int:
    """The default number of service-room messages: in proportion to the incidents."""
    return round(DEMO_CHAT_MESSAGES * incidents / DEMO_INCIDENTS)


def _batches(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _create(model: type[Model], rows: list[Any]) -> int:
    for batch in _batches(rows):
        model.objects.bulk_create(batch)  # type: ignore[attr-defined]
    return len(rows)


def load_chat(
    *,
    seed: int,
    count: int,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write about ``count`` messages of service rooms over the weeks before ``now``, the live-
    help conversations and an open major incident's war room; returns how many rows of each
    kind were created. Call inside a transaction, after the wall. Does nothing when the
    database already has chat messages."""
    if count <= 0 or Message.objects.exists():
        return {}
    say = progress or (lambda _line: None)
    now = now or timezone.now()
    planner = plan_chat(seed, count, now)
    say(f"planned {len(planner.rooms)} rooms, {len(planner.messages)} messages")
    # A service's room is made with the service (catalog.actions): reuse the rooms there are.
    existing = {room.service_id: room for room in Room.objects.filter(kind=RoomKind.SERVICE)}
    rooms: list[Room] = [
        existing[r.service]
        if r.kind == RoomKind.SERVICE and r.service in existing
        else Room(kind=r.kind, name=r.name, topic=r.topic, service_id=r.service,
                  incident_id=r.incident, lane=r.lane, created_at=r.created_at,
                  archived_at=r.archived_at)
        for r in planner.rooms
    ]  # fmt: skip
    counts = {"chat rooms": _create(Room, [room for room in rooms if room.pk is None])}

    # In time order, so ids follow time within every room (history and markers go by id).
    html: dict[str, str] = {}
    objects = []
    for m in planner.messages:
        if m.body not in html:
            html[m.body] = render_markdown(m.body)
        emojis = [emoji for _user, emoji in m.reactions]
        objects.append(
            Message(
                room_id=rooms[m.room].pk,
                author_id=m.author,
                kind=m.kind,
                body=m.body,
                body_html=html[m.body],
                reaction_counts={e: emojis.count(e) for e in sorted(set(emojis))},
                created_at=m.created_at,
            )
        )
    counts["chat messages"] = _create(Message, objects)
    pks = {m.key: obj.pk for m, obj in zip(planner.messages, objects, strict=True)}

    # Threads: replies name their root, roots count their replies.
    threads: dict[int, list[int]] = {}
    for m in planner.messages:
        if m.thread_root is not None:
            threads.setdefault(pks[m.thread_root], []).append(pks[m.key])
    for root, replies in threads.items():
        Message.objects.filter(pk__in=replies).update(thread_root_id=root)
        Message.objects.filter(pk=root).update(reply_count=len(replies))

    mentions = Message.mentions.through
    counts["chat mentions"] = _create(
        mentions,
        [
            mentions(message_id=pks[m.key], user_id=pk)
            for m in planner.messages
            for pk in m.mentions
        ],
    )
    counts["chat reactions"] = _create(
        MessageReaction,
        [
            MessageReaction(message_id=pks[m.key], user_id=user, emoji=emoji, created_at=at)
            for m in planner.messages
            for (user, emoji), at in m.reactions.items()
        ],
    )

    # Each room's newest message, and each member's marker: the newest message sent until
    # the moment they last read.
    timeline: dict[int, list[tuple[datetime, int]]] = {}
    for m in planner.messages:
        timeline.setdefault(m.room, []).append((m.created_at, pks[m.key]))
    members = set(Membership.objects.values_list("room_id", "user_id"))
    memberships = []
    for index, (plan, room) in enumerate(zip(planner.rooms, rooms, strict=True)):
        sent = timeline.get(index, [])
        if sent:
            room.last_message_at, room.last_message_id = sent[-1]
        for user, role in plan.members.items():
            if (room.pk, user) in members:
                continue
            until = plan.read_until.get(user)
            marker = max((pk for at, pk in sent if until is not None and at <= until), default=0)
            memberships.append(
                Membership(room_id=room.pk, user_id=user, role=role, joined_at=plan.created_at,
                           last_read_message_id=marker, last_read_at=until if marker else None)
            )  # fmt: skip
    Room.objects.bulk_update(rooms, ["last_message_id", "last_message_at"], batch_size=BATCH)
    counts["chat memberships"] = _create(Membership, memberships)

    conversations = []
    for plan, room in zip(planner.rooms, rooms, strict=True):
        if plan.conversation is not None:
            fields = dict(plan.conversation)
            conversations.append(
                Conversation(
                    room_id=room.pk,
                    requester_id=fields.pop("requester"),
                    service_id=fields.pop("service"),
                    team_id=fields.pop("team"),
                    agent_id=fields.pop("agent", None),
                    closed_by_id=fields.pop("closed_by", None),
                    incident_id=fields.pop("incident", None),
                    **fields,
                )
            )
    counts["help conversations"] = _create(Conversation, conversations)
    return {kind: n for kind, n in counts.items() if n}
