"""The demo's knowledge base: about 300 published how-tos on the demo services, written in bulk.

Like the wall and the incident history, this is seed data: written straight to the tables the
way ``knowledge.actions`` and ``knowledge.workflow`` would have left them (an article, its
services, a first draft and the approved version), without events and without audit rows.

- each service gets articles from templates (getting started, access, slowness, error
  messages, settings, maintenance, who to contact), plus a few hand-written ones for the
  services people ask most about (VPN, e-mail, Wi-Fi, MFA, printing);
- owners are staff of the service's owner team (else an administrator);
- about one in ten is internal (and every article about a confidential service);
- a few are stale: published long ago, their review date passed;
- the similarity index is rebuilt by the loader after everything is written (demo/loader.py).

The same seed gives the same articles. Loaded only once: a database that has demo articles
gets none again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from hashdesk.accounts.choices import STAFF_ROLES, Role
from hashdesk.accounts.models import TeamMembership, User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.markup import render_markdown
from hashdesk.knowledge.actions import format_number
from hashdesk.knowledge.choices import ArticleOrigin, ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleVersion

DEMO_ARTICLES = 300
# The first version of every demo article carries this note: the marker of a loaded demo.
DEMO_NOTE = "First draft: demo knowledge base"
INTERNAL_SHARE = 0.1
STALE_SHARE = 0.04


@dataclass(frozen=True)
class Template:
    title: str
    steps: tuple[str, ...]
    intro: str


GENERIC = (
    Template(
        "Getting started with {name}",
        (
            "Sign in with your usual company account; the first sign-in can take a minute.",
            "Check that your name and department are right under **Profile**.",
            "Bookmark the start page, or pin the app, so you find it again.",
            "Read the short tour offered on first use; you can reopen it from **Help**.",
        ),
        "{name}: {description} This article walks you through your first day with it.",
    ),
    Template(
        "How to request access to {name}",
        (
            "Open the service catalogue and choose **{name}**.",
            "Select **Request access** and say which role you need and why.",
            "Your manager approves the request; you get a notification when it is done.",
            "Sign out and in again so the new access takes effect.",
        ),
        "Access to {name} is given per role. Ask for what your work needs; the owner team "
        "({team}) checks unusual requests.",
    ),
    Template(
        "{name} is slow: what to try first",
        (
            "Check the status page: a known disruption of {name} is shown there.",
            "Close other heavy applications and browser tabs, then try again.",
            "Try from another network (wired instead of Wi-Fi) to rule out your connection.",
            "If it stays slow for more than 15 minutes, report it with the time it started.",
        ),
        "Most slowness in {name} is local and goes away with these checks. When it does not, "
        "the desk needs the time and what you were doing.",
    ),
    Template(
        "Common {name} error messages and what they mean",
        (
            "**Session expired**: sign in again; your work since the last save may be lost.",
            "**Access denied**: you lack the role for this; request access (see the catalogue).",
            "**Service unavailable**: {name} is down or in maintenance; check the status page.",
            "**Unknown error**: note the time and the reference code, then report it.",
        ),
        "The messages {name} shows most often, and what to do about each.",
    ),
    Template(
        "Resetting your {name} settings",
        (
            "Sign out of {name} everywhere (browser and app).",
            "Clear the browser cache for the site, or reinstall the app.",
            "Sign in again; your settings return to the defaults.",
            "Set your preferences again under **Settings**.",
        ),
        "When {name} behaves oddly only for you, stored settings are the usual cause.",
    ),
    Template(
        "{name} maintenance windows: what to expect",
        (
            "Planned maintenance of {name} is announced on the wall and the status page "
            "three days before.",
            "During the window, save your work and expect short interruptions.",
            "After the window, sign in again if {name} asks you to.",
            "Anything still wrong an hour after the window: report it.",
        ),
        "{team} keeps {name} up to date in planned windows, usually outside office hours.",
    ),
    Template(
        "Reporting a problem with {name}",
        (
            "Check the wall for **#{hashtag}**: others may have reported it already; "
            "say **me too** rather than posting again.",
            "Otherwise report an incident on **{name}** with what you expected and what happened.",
            "Add a screenshot and the time it happened.",
            "Urgent and blocking many people? Call the service desk.",
        ),
        "A good report gets {name} fixed faster. Here is what the desk needs.",
    ),
    Template(
        "Using {name} from home",
        (
            "Connect to the VPN first if {name} is internal.",
            "Use a supported browser, kept up to date.",
            "On a slow home connection, turn off video and large downloads while you work.",
            "Still cannot reach it? Check the status page, then report it.",
        ),
        "{name} works from home too; a few things differ from the office.",
    ),
    Template(
        "Tips for working faster in {name}",
        (
            "Learn the keyboard shortcuts: **?** shows them in most screens.",
            "Save searches and views you use every day.",
            "Turn off notifications you do not act on.",
            "Ask your team's champion for the tricks they use.",
        ),
        "A few habits that save time every day in {name}.",
    ),
)

# People do not use back-end services themselves: only these templates fit them.
BACK_END_CATEGORY = "Infrastructure"
BACK_END_TITLES = frozenset(
    {
        "{name} is slow: what to try first",
        "{name} maintenance windows: what to expect",
        "Reporting a problem with {name}",
    }
)

SPECIFIC: dict[str, tuple[Template, ...]] = {
    "vpn": (
        Template(
            "VPN keeps disconnecting on Wi-Fi",
            (
                "Open the VPN client's **Settings → Connection**.",
                "Turn on **Keep the connection alive**.",
                "Reconnect; the tunnel now survives idle periods.",
                "Still dropping? Use a wired connection and report it.",
            ),
            "Idle Wi-Fi sessions end after ten minutes, which can cut the VPN tunnel.",
        ),
        Template(
            "Installing the VPN client on a new laptop",
            (
                "Open **Software Centre** and install **VPN client**.",
                "Restart the laptop.",
                "Start the client and sign in with your account and MFA.",
                "Choose the nearest gateway.",
            ),
            "Company laptops get the VPN client from Software Centre.",
        ),
    ),
    "email": (
        Template(
            "Adding a shared mailbox in Outlook",
            (
                "Ask the mailbox owner to give you access (catalogue → E-mail → Shared mailbox).",
                "Restart Outlook: the mailbox appears on its own after up to an hour.",
                "Not there? **File → Account settings → Change → More settings → Advanced** "
                "and add it.",
            ),
            "Shared mailboxes appear in Outlook once you have access.",
        ),
        Template(
            "Setting an out-of-office reply",
            (
                "In Outlook choose **File → Automatic replies**.",
                "Write one reply for colleagues and one for outside senders.",
                "Set the dates so it turns off by itself.",
            ),
            "Let people know when you are away.",
        ),
    ),
    "mfa": (
        Template(
            "Moving the authenticator app to a new phone",
            (
                "Keep the old phone until you are done.",
                "Sign in to **My sign-ins → Security info** and add the new phone.",
                "Approve the test notification on the new phone.",
                "Remove the old phone from the list.",
            ),
            "Do this before you hand in or wipe your old phone.",
        ),
    ),
    "wifi-a": (
        Template(
            "Connecting a laptop to staff Wi-Fi",
            (
                "Choose the **Staff** network, not **Guest**.",
                "Sign in with your company account when asked.",
                "Accept the certificate named after the company.",
            ),
            "Company laptops join staff Wi-Fi with your account.",
        ),
        Template(
            "Guest Wi-Fi for visitors",
            (
                "Ask reception for a guest code, valid for one day.",
                "Visitors choose the **Guest** network and enter the code.",
            ),
            "Visitors use the guest network; it reaches the internet only.",
        ),
    ),
}


def _owners() -> tuple[dict[int, list[User]], User | None]:
    """Staff per team (for owners), and the first administrator (the fallback)."""
    by_team: dict[int, list[User]] = {}
    for membership in (
        TeamMembership.objects.filter(
            user__is_active=True, user__groups__name__in=[str(r) for r in STAFF_ROLES]
        )
        .select_related("user")
        .order_by("team_id", "joined_at", "pk")
        .distinct()
    ):
        people = by_team.setdefault(membership.team_id, [])
        if membership.user not in people:
            people.append(membership.user)
    admin = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=str(Role.ADMINISTRATOR)))
        .order_by("pk")
        .first()
    )
    return by_team, admin


def _body(template: Template, service: Service, team: str) -> str:
    fields = {
        "name": service.name,
        "description": service.description.rstrip(".") + "." if service.description else "",
        "team": team,
        "hashtag": service.hashtag,
    }
    steps = "\n".join(
        f"{n}. {step.format(**fields)}" for n, step in enumerate(template.steps, start=1)
    )
    return (
        f"{template.intro.format(**fields)}\n\n## Steps\n\n{steps}\n\n"
        f"## Still stuck?\n\nAsk on the wall with **#{service.hashtag}**, or report an "
        f"incident on {service.name}."
    )


def load_articles(
    seed: int = 0, count: int = DEMO_ARTICLES, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Write about ``count`` published demo articles; returns how many rows were created.
    Call inside a transaction, after the catalogue and people."""
    say = progress or (lambda _line: None)
    if ArticleVersion.objects.filter(note=DEMO_NOTE).exists():
        return {}
    services = list(Service.objects.select_related("owner_team", "category").order_by("pk"))
    by_team, admin = _owners()
    if not services or (admin is None and not by_team):
        return {}
    say(f"knowledge articles ({count})")
    rng = random.Random(seed + 8)
    now = timezone.now()
    review_days = settings.KNOWLEDGE_REVIEW_DAYS
    planned: list[tuple[Template, Service]] = []
    for service in services:
        planned.extend((template, service) for template in SPECIFIC.get(service.hashtag, ()))
    generic = [
        (template, service)
        for service in services
        for template in GENERIC
        if template.title in BACK_END_TITLES
        or service.category is None
        or service.category.name != BACK_END_CATEGORY
    ]
    rng.shuffle(generic)
    planned.extend(generic[: max(0, count - len(planned))])
    articles: list[Article] = []
    drafts: list[tuple[str, str]] = []
    links: list[int] = []
    for template, service in planned:
        team = service.owner_team.name if service.owner_team else "the service desk"
        people = by_team.get(service.owner_team_id or 0) or ([admin] if admin else [])
        owner = rng.choice(people)
        title = template.title.format(name=service.name)[:200]
        body = _body(template, service, team)
        stale = rng.random() < STALE_SHARE
        age = (
            timedelta(days=rng.randint(review_days + 5, review_days + 120))
            if stale
            else (timedelta(days=rng.randint(1, review_days - 10), minutes=rng.randint(0, 1440)))
        )
        published = now - age
        internal = service.visibility == Visibility.CONFIDENTIAL or rng.random() < INTERNAL_SHARE
        articles.append(
            Article(
                title=title,
                body=body,
                body_html=render_markdown(body),
                state=ArticleState.PUBLISHED,
                visibility=ArticleVisibility.INTERNAL if internal else ArticleVisibility.PUBLIC,
                owner=owner,
                version=2,
                published_version=2,
                origin=ArticleOrigin.MANUAL,
                created_at=published - timedelta(days=rng.randint(1, 14)),
                updated_at=published,
                published_at=published,
                review_due_at=published + timedelta(days=review_days),
            )
        )
        # The first draft lacked the closing section the reviewer asked for.
        drafts.append((title, body.split("\n\n## Still stuck?")[0]))
        links.append(service.pk)
    created = Article.objects.bulk_create(articles, batch_size=500)
    for article in created:
        article.number = format_number(article.pk)
    Article.objects.bulk_update(created, ["number"], batch_size=500)
    through = Article.services.through
    through.objects.bulk_create(
        [through(article_id=a.pk, service_id=s) for a, s in zip(created, links, strict=True)],
        batch_size=1000,
    )
    versions = []
    for article, (title, first_body) in zip(created, drafts, strict=True):
        versions.append(
            ArticleVersion(
                article=article,
                version=1,
                title=title,
                body=first_body,
                note=DEMO_NOTE,
                edited_by=article.owner,
                created_at=article.created_at,
            )
        )
        versions.append(
            ArticleVersion(
                article=article,
                version=2,
                title=article.title,
                body=article.body,
                note="Added where to ask for help",
                edited_by=article.owner,
                created_at=article.updated_at,
            )
        )
    ArticleVersion.objects.bulk_create(versions, batch_size=1000)
    return {"articles": len(created), "article versions": len(versions)}
