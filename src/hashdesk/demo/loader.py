"""Loading the demo organisation through the product's own actions.

Everything is created by ``accounts.actions`` and ``catalog.actions`` — the same code the web
pages and the API call — so the demo has audit rows and events like real data, and breaks
loudly if an action's rules change. The loader is idempotent: it looks up what already
exists by its natural key (email, team name, hashtag, ...) and creates only what is missing,
so a second run changes nothing. The year of incidents is the one exception: it is seed data
written in bulk, without events or audit rows (demo/incident_loader.py says why).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from hashdesk.accounts import actions as accounts
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.catalog import actions as catalog
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory, ServiceDependency
from hashdesk.demo.articles import load_articles
from hashdesk.demo.bursts import load_burst
from hashdesk.demo.catalogue import CATEGORIES, SERVICES, TEAMS
from hashdesk.demo.changes import changes_for, load_changes
from hashdesk.demo.chat import chat_messages_for, load_chat
from hashdesk.demo.incident_loader import load_incident_history
from hashdesk.demo.incidents import DEMO_INCIDENTS
from hashdesk.demo.people import DEMO_PASSWORD, DEMO_SEED, plan_people
from hashdesk.demo.problems import load_problems
from hashdesk.demo.problems_pattern import load_outlook_pattern
from hashdesk.demo.questions import load_questions
from hashdesk.demo.wall import load_wall, posts_for

DATA_CENTRES = ("DC1", "DC2")


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return any(self.created.values())

    def describe(self) -> str:
        if not self.changed:
            return "The demo organisation is already complete; nothing changed."
        parts = ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n)
        return f"Demo organisation loaded in {self.seconds:.1f} s: created {parts}."


def _load_teams(summary: DemoSummary) -> dict[str, Team]:
    teams = {team.name: team for team in Team.objects.filter(name__in=[t.name for t in TEAMS])}
    for plan in TEAMS:
        if plan.name not in teams:
            teams[plan.name] = accounts.do_create_team(
                None, name=plan.name, description=plan.description, email=plan.email
            )
            summary.count("teams")
    return teams


def _load_catalogue(summary: DemoSummary, teams: dict[str, Team]) -> dict[str, Service]:
    categories = {c.name: c for c in ServiceCategory.objects.filter(name__in=CATEGORIES)}
    for position, name in enumerate(CATEGORIES):
        if name not in categories:
            categories[name] = catalog.do_create_category(None, name=name, position=position)
            summary.count("categories")

    services = {
        s.hashtag: s for s in Service.objects.filter(hashtag__in=[p.hashtag for p in SERVICES])
    }
    for plan in SERVICES:
        if plan.hashtag not in services:
            services[plan.hashtag] = catalog.do_create_service(
                None,
                name=plan.name,
                hashtag=plan.hashtag,
                description=plan.description,
                category=categories[plan.category],
                owner_team=teams[plan.owner],
                criticality=plan.criticality,
                visibility=plan.visibility,
            )
            summary.count("services")

    existing_links = set(
        ServiceDependency.objects.filter(service__in=services.values()).values_list(
            "service_id", "depends_on_id"
        )
    )
    for plan in SERVICES:
        service = services[plan.hashtag]
        for upstream_tag in plan.depends_on:
            upstream = services[upstream_tag]
            if (service.pk, upstream.pk) not in existing_links:
                catalog.do_add_dependency(None, service, upstream)
                summary.count("dependencies")

    existing_items = set(ConfigurationItem.objects.values_list("name", flat=True))
    for plan in SERVICES:
        for prefix, kind, how_many, where in plan.items:
            for number in range(1, how_many + 1):
                name = f"{prefix}-{number:02d}"
                if name in existing_items:
                    continue
                # Redundant pairs in the data centre stand in different rooms.
                location = DATA_CENTRES[(number - 1) % 2] if where == "DC1" else where
                catalog.do_create_configuration_item(
                    None,
                    service=services[plan.hashtag],
                    name=name,
                    kind=kind,
                    location=location,
                    description=f"{plan.name}: {kind} {number} of {how_many}.",
                )
                summary.count("configuration items")
    return services


def _load_people(summary: DemoSummary, teams: dict[str, Team], seed: int) -> None:
    plans = plan_people(seed)
    people = {u.email: u for u in User.objects.filter(email__in=[p.email for p in plans])}
    # Argon2 is deliberately slow: hash the shared demo password once, not per account.
    demo_hash: str | None = None
    for plan in plans:
        if plan.email in people:
            continue
        if plan.can_sign_in and demo_hash is None:
            demo_hash = make_password(DEMO_PASSWORD)
        people[plan.email] = accounts.do_create_user(
            None,
            email=plan.email,
            display_name=plan.display_name,
            department=plan.department,
            site=plan.site,
            time_zone=plan.time_zone,
            is_vip=plan.is_vip,
            roles=list(plan.roles),
            password_hash=demo_hash if plan.can_sign_in else None,
        )
        summary.count("people")

    memberships = set(
        TeamMembership.objects.filter(team__in=teams.values()).values_list("team_id", "user_id")
    )
    for plan in plans:
        person = people[plan.email]
        for team_name, team_role in plan.teams:
            team = teams[team_name]
            if (team.pk, person.pk) not in memberships:
                accounts.do_add_team_member(None, team, person, role=team_role)
                summary.count("team memberships")


def load_demo(
    *,
    seed: int = DEMO_SEED,
    incidents: int = DEMO_INCIDENTS,
    posts: int | None = None,
    chat_messages: int | None = None,
    changes: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Create whatever part of the demo organisation is missing, in one transaction.

    Then a year of ``incidents`` incidents, written in bulk (demo/incident_loader.py), but only
    into a database that has no incidents yet; then about ``posts`` posts on the wall (default:
    in proportion to ``incidents``, so none without incidents), written in bulk
    (demo/wall.py), but only into a database that has no posts yet; then the chat, about
    ``chat_messages`` messages in service rooms (default: in proportion to ``incidents``) with
    live-help conversations (demo/chat.py), but only into a database without chat messages;
    then about ``changes`` changes (default: in proportion to ``incidents``) with the CAB, freezes
    and their incidents' correlations (demo/changes.py), but only into a database without changes.
    """
    say = progress or (lambda _line: None)
    summary = DemoSummary()
    started = time.perf_counter()
    with transaction.atomic():
        say("teams")
        teams = _load_teams(summary)
        say("service catalogue")
        _load_catalogue(summary, teams)
        say("people")
        _load_people(summary, teams, seed)
        say(f"a year of incidents ({incidents})")
        history = load_incident_history(seed=seed, count=incidents, progress=say)
        for kind, created in history.items():
            summary.created[kind] = summary.created.get(kind, 0) + created
        posts = posts_for(incidents) if posts is None else posts
        say(f"the wall ({posts} posts)")
        wall = load_wall(seed=seed, count=posts, progress=say)
        for kind, created in wall.items():
            summary.created[kind] = summary.created.get(kind, 0) + created
        chat_messages = chat_messages_for(incidents) if chat_messages is None else chat_messages
        say(f"the chat ({chat_messages} messages)")
        chat = load_chat(seed=seed, count=chat_messages, progress=say)
        for kind, created in chat.items():
            summary.created[kind] = summary.created.get(kind, 0) + created
        changes = changes_for(incidents) if changes is None else changes
        say(f"a year of changes ({changes})")
        for kind, created in load_changes(seed=seed, count=changes, progress=say).items():
            summary.created[kind] = summary.created.get(kind, 0) + created
        if incidents >= DEMO_INCIDENTS:
            # What people do now rather than history: made through the product's actions, so
            # with events and audit rows — only in the full demo (the smaller loads used in
            # tests are pure seed data). The burst needs people posting now, so it comes only
            # with a freshly written wall and a rerun adds nothing.
            summary.created.update(load_problems(say))
            summary.created.update(load_outlook_pattern(say))
            summary.created.update(load_articles(seed, progress=say))
            summary.created.update(load_questions(seed, progress=say))
            if wall.get("posts"):
                summary.created.update(load_burst(say))
                say("sentiment per service")
                from hashdesk.insights.sentiment import aggregate_sentiment

                summary.created["service sentiment days"] = aggregate_sentiment()
        if summary.changed:
            # The bulk writes above send no signals: the similarity index is rebuilt from them.
            say("the similarity index")
            from hashdesk.insights.index import rebuild

            rebuild()
    summary.seconds = time.perf_counter() - started
    return summary
