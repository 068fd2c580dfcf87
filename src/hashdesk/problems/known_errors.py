"""Publishing a problem's known error (docs/problems.md, "Known errors").

``do_publish_known_error`` needs the root cause and the workaround, and in one transaction:

- writes the known-error article (knowledge): published, readable by everyone signed in,
  titled "Known error: …" — a new version of the same article when published again;
- posts an official wall post on each affected service's timeline;
- tells every linked incident's affected people (and followers, and the reporter) the
  workaround, once per incident (``ProblemIncident.workaround_sent_at``); incidents linked
  later are told when they are linked (``push_workaround``);
- moves the problem to Known error (unless it is resolved already: republishing keeps it).

The notifications are rows of the same transaction (they exist exactly when the publishing
does); their live events go out on commit, like every event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import can_view
from hashdesk.incidents.models import AffectedUser, IncidentFollower
from hashdesk.knowledge.actions import publish_known_error_article
from hashdesk.knowledge.models import Article
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.problems import actions
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem, ProblemIncident

NOTICE_KIND = "known_error"
WORKAROUND_EXCERPT = 600


def article_url(article: Article) -> str:
    return reverse("knowledge:article", args=[article.number])


def known_error_title(problem: Problem) -> str:
    return f"Known error: {problem.title}"


def article_body(problem: Problem) -> str:
    """What users read: the symptom, the workaround, and that a fix is being worked on."""
    parts = []
    if problem.description.strip():
        parts += ["## What happens", problem.description.strip()]
    parts += ["## Workaround", problem.workaround.strip()]
    if problem.state == ProblemState.RESOLVED:
        parts += ["## Status", "A permanent fix is in place."]
    else:
        parts += [
            "## Status",
            f"The service desk knows the cause and is working on a permanent fix "
            f"({problem.number}).",
        ]
    return "\n\n".join(parts)


def excerpt(text: str, limit: int = WORKAROUND_EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wall_text(problem: Problem, article: Article) -> str:
    return (
        f"Known error: {problem.title}\n\nWorkaround: {excerpt(problem.workaround)}\n\n"
        f"Details: {article_url(article)}"
    )


def _post_on_services(author: User, problem: Problem, article: Article) -> list[int]:
    """One official post on each affected service's timeline (a post bound to a confidential
    service is read by staff only, as every such post)."""
    # Imported here: the wall's actions import incidents, which import the problems' hooks.
    from hashdesk.wall import actions as wall_actions
    from hashdesk.wall import parsing
    from hashdesk.wall.choices import PostKind
    from hashdesk.wall.models import BODY_MAX, Post

    body = redact(_wall_text(problem, article)).text[:BODY_MAX]
    posted = []
    for service in Service.objects.filter(problems=problem).order_by("pk"):
        post = Post.objects.create(
            author=author,
            kind=PostKind.OFFICIAL,
            body=body,
            body_html=parsing.render(body, tag_names=[], people={}),
            service=service,
        )
        trail.record(
            actor=author,
            action="wall.known_error",
            obj=post,
            after={"problem_id": problem.pk, "article_id": article.pk},
        )
        wall_actions._publish(post, "create", tag_names=[])
        posted.append(post.pk)
    return posted


def push_workaround(
    problem: Problem, links: Sequence[ProblemIncident], *, now: datetime | None = None
) -> int:
    """Tell the people of the linked incidents not told yet the workaround: each person once
    in this call however many of the incidents they are on; confidential incidents (or on
    confidential services) only their staff. Marks the links sent. A constant number of
    queries. Returns the number of notifications."""
    article = problem.known_error_article
    pending = [link for link in links if link.workaround_sent_at is None]
    if article is None or not pending:
        return 0
    now = now or timezone.now()
    incident_ids = [link.incident_id for link in pending]
    people: dict[int, set[int]] = defaultdict(set)
    for incident_id, user_id in AffectedUser.objects.filter(
        incident_id__in=incident_ids
    ).values_list("incident_id", "user_id"):
        people[incident_id].add(user_id)
    for incident_id, user_id in IncidentFollower.objects.filter(
        incident_id__in=incident_ids
    ).values_list("incident_id", "user_id"):
        people[incident_id].add(user_id)
    from hashdesk.incidents.models import Incident

    confidential = set()
    for pk, reporter_id, visibility, service_visibility in Incident.objects.filter(
        pk__in=incident_ids
    ).values_list("pk", "reporter_id", "visibility", "service__visibility"):
        if reporter_id is not None:
            people[pk].add(reporter_id)
        if Visibility.CONFIDENTIAL in (visibility, service_visibility):
            confidential.add(pk)
    everyone = {uid for ids in people.values() for uid in ids}
    users = User.objects.filter(pk__in=everyone, is_active=True).in_bulk()
    recipients: dict[int, User] = {}
    for incident_id in incident_ids:
        for uid in people.get(incident_id, ()):
            user = users.get(uid)
            if user is None:
                continue
            if incident_id in confidential and not user.is_service_desk_staff:
                continue
            recipients[uid] = user
    url = article_url(article)
    do_send_notices(
        Notice(
            recipient=user,
            kind=NOTICE_KIND,
            title=f"Workaround for: {problem.title}",
            body=excerpt(problem.workaround),
            url=url,
        )
        for user in recipients.values()
    )
    ProblemIncident.objects.filter(pk__in=[link.pk for link in pending]).update(
        workaround_sent_at=now
    )
    for link in pending:
        link.workaround_sent_at = now
    return len(recipients)


def _index(problem: Problem) -> None:
    """Make the known error findable at once (the similarity index, when it is installed)."""
    try:
        from hashdesk.insights.index import index_object
    except ImportError:  # pragma: no cover - the index arrives with the insights app
        return
    index_object(problem)


@transaction.atomic
def do_publish_known_error(
    actor: User, problem: Problem, *, expected_version: int | None = None
) -> Problem:
    """Publish (or publish again) the problem's known error; see the module's description."""
    actions.require_manager(actor, "publish known errors")
    if not can_view(actor, problem):
        raise NotFound("No such problem.")
    problem = actions.lock_problem(problem, expected_version)
    for field, label in (("root_cause", "root cause"), ("workaround", "workaround")):
        if not getattr(problem, field).strip():
            raise ValidationFailed(
                f"Record the {label} before publishing the known error.", field=field
            )
    before = actions.problem_snapshot(problem)
    now = timezone.now()
    first = problem.known_error_article_id is None
    services = list(problem.services.all())
    article = publish_known_error_article(
        actor,
        problem.known_error_article,
        title=known_error_title(problem)[:200],
        body=article_body(problem),
        services=services,
        note=f"Known error of {problem.number}",
    )
    problem.known_error_article = article
    problem.known_error_published_at = now
    fields = ["known_error_article", "known_error_published_at"]
    if problem.state in (ProblemState.NEW, ProblemState.INVESTIGATING):
        problem.state = ProblemState.KNOWN_ERROR
        fields.append("state")
    actions.bump(problem, fields, now)
    posts = _post_on_services(actor, problem, article)
    links = list(ProblemIncident.objects.filter(problem=problem, workaround_sent_at__isnull=True))
    told = push_workaround(problem, links, now=now)
    trail.record(
        actor=actor,
        action="problem.publish_known_error",
        obj=problem,
        before=before,
        after={
            **actions.problem_snapshot(problem),
            "article": article.number,
            "first": first,
            "wall_posts": posts,
            "incidents_told": sorted(link.incident_id for link in links),
            "people_told": told,
        },
    )
    actions.publish(problem, "known_error")
    _index(problem)
    return problem
