"""``python -m django seed_tickets --count N``: the peer's data for bench/incidents.py.

A staff agent with a DRF token and a signed-in session, five queues, and N tickets over the last
year with one follow-up each (statuses, priorities and owners spread like a desk's), written with
``bulk_create`` for speed. Prints one JSON line: the token, the session cookie and the queues.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.test import Client
from django.utils import timezone
from helpdesk.models import FollowUp, Queue, Ticket
from rest_framework.authtoken.models import Token

QUEUES = ("Network", "Workplace", "Messaging", "Identity", "Business Applications")
TITLES = (
    "VPN drops every few minutes",
    "Outlook crashes opening calendar attachments",
    "Printer on the 2nd floor is jammed",
    "Laptop does not start",
    "Cannot sign in to the HR portal",
    "Wi-Fi keeps disconnecting in Building B",
)
# Open, reopened, resolved, closed: most of a year's tickets are done.
STATUSES = ((Ticket.OPEN_STATUS, 6), (Ticket.REOPENED_STATUS, 1), (Ticket.RESOLVED_STATUS, 8),
            (Ticket.CLOSED_STATUS, 85))  # fmt: skip


class Command(BaseCommand):
    help = "Seed the django-helpdesk peer with an agent and tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)

    @transaction.atomic
    def handle(self, *args: Any, count: int, **options: Any) -> None:
        rng = random.Random(2024)
        user_model = get_user_model()
        agent = user_model.objects.create_user(
            "bench.agent", "bench.agent@example.test", "bench-agent-password", is_staff=True
        )
        others = [
            user_model.objects.create_user(f"agent{n}", f"agent{n}@example.test", is_staff=True)
            for n in range(8)
        ]
        token = Token.objects.create(user=agent)
        queues = [
            Queue.objects.create(title=title, slug=title.lower().replace(" ", "-")[:50])
            for title in QUEUES
        ]
        now = timezone.now()
        statuses = [s for s, _w in STATUSES]
        weights = [w for _s, w in STATUSES]
        tickets = []
        for number in range(count):
            status = rng.choices(statuses, weights)[0]
            tickets.append(
                Ticket(
                    title=rng.choice(TITLES),
                    queue=rng.choice(queues),
                    submitter_email=f"person{rng.randrange(500)}@example.test",
                    assigned_to=rng.choice([agent, *others]) if rng.random() < 0.9 else None,
                    status=status,
                    description=f"Reported by a colleague; ticket {number}.",
                    priority=rng.choice((1, 2, 3, 3, 3, 4, 5)),
                )
            )
        Ticket.objects.bulk_create(tickets, batch_size=1000)
        # auto_now_add stamped every ticket with now: spread them over the year, oldest first.
        created = sorted(now - timedelta(minutes=rng.randrange(525_600)) for _ in tickets)
        rows = list(Ticket.objects.order_by("id").only("id"))
        for ticket, moment in zip(rows, created, strict=True):
            ticket.created = ticket.modified = moment
        Ticket.objects.bulk_update(rows, ["created", "modified"], batch_size=1000)
        FollowUp.objects.bulk_create(
            [
                FollowUp(
                    ticket_id=ticket.pk,
                    title="Ticket Opened",
                    comment="Thanks for reporting this; we are looking into it.",
                    public=True,
                    user=agent,
                    date=moment,
                )
                for ticket, moment in zip(rows, created, strict=True)
            ],
            batch_size=1000,
        )
        client = Client()
        client.force_login(agent)
        print(
            json.dumps(
                {
                    "token": token.key,
                    "session": client.cookies["sessionid"].value,
                    "queues": [q.pk for q in queues],
                    "tickets": Ticket.objects.count(),
                }
            )
        )
