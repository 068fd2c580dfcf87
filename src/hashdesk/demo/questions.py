"""The demo's answered questions: about 150 questions on the wall with 1 to 4 answers each, written
in bulk (story 7; docs/wall.md, "Questions and answers").

Seed data like demo/wall.py: written straight to the tables the way ``wall.answers`` and
``wall.votes`` would have left them, without events and without audit rows:

- a question by a requester on a public demo service (its ``#hashtag``), from templates;
- one to four answers by colleagues (staff now and then), from the service's templates;
- about two in three have an accepted answer; answers get up-votes from other people; some
  accepted answers "solved it for" others too;
- reputation awards for them: confirmed when older than the verification window, pending
  otherwise (the demo has no ticket raised against them, so verification would confirm them).

The same seed gives the same questions. Loaded only once: a database with a demo question
(its marker text) gets none again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import staff_condition
from hashdesk.wall.answers import ACCEPTED_POINTS, SOLVED_POINTS
from hashdesk.wall.choices import AwardReason, AwardState, ReactionKind
from hashdesk.wall.models import AnswerVote, Hashtag, Post, Reaction, ReputationAward
from hashdesk.wall.parsing import render

DEMO_QUESTIONS = 150
# Every demo question ends with this phrase: the marker of a loaded demo.
MARKER = "Thanks in advance!"

QUESTIONS = (
    "#{tag} How do I set up {name} on a new laptop?",
    "#{tag} {name} asks me to sign in again every hour. Is there a setting for that?",
    "#{tag} Where do I change my notification settings in {name}?",
    "#{tag} {name} says my access expired. Who renews it?",
    "#{tag} Is there a way to use {name} from my phone?",
    "#{tag} {name} is very slow this morning, is it just me or is there a trick?",
    "#{tag} How do I share something from {name} with an external partner?",
    "#{tag} I get an error when I open {name} after the update. Any idea?",
)
ANSWERS = (
    "Sign out completely, clear the browser cache and sign in again: that fixed it for me.",
    "Open **Settings → Account** in {name}; the option is at the bottom of the page.",
    "Your manager has to approve it in the service catalogue; ask them to look at **Requests**.",
    "Install the app from the company portal, then sign in with your usual account.",
    "Use the wired network or the VPN's TCP profile; on the guest Wi-Fi it is always slow.",
    "There is an article about it in the knowledge base: search for {name}.",
    "Restart the client after the update; the first start after an update rebuilds its cache.",
    "Same here last week: turning the sync off and on again in {name} solved it.",
)


@dataclass(frozen=True)
class _Answer:
    author: int
    body: str
    at: datetime
    voters: list[int]


def _services() -> list[tuple[int, str, str]]:
    return list(
        Service.objects.filter(is_active=True, visibility=Visibility.PUBLIC)
        .exclude(hashtag="")
        .order_by("hashtag")
        .values_list("pk", "hashtag", "name")
    )


def _people() -> tuple[list[int], list[int]]:
    staff_q = staff_condition()
    active = User.objects.filter(is_active=True, email__contains="demo")
    staff = sorted(set(active.filter(staff_q).values_list("pk", flat=True)))
    requesters = sorted(set(active.values_list("pk", flat=True)) - set(staff))
    return requesters, staff


def load_questions(
    seed: int, count: int = DEMO_QUESTIONS, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Write ``count`` answered questions; nothing when demo questions exist already."""
    say = progress or (lambda _line: None)
    if Post.objects.filter(is_question=True, body__endswith=MARKER).exists():
        return {}
    services = _services()
    requesters, staff = _people()
    if not services or len(requesters) < 6:
        return {}
    say(f"answered questions ({count})")
    rng = random.Random(f"hashdesk-demo-questions:{seed}")
    now = timezone.now()
    window = settings.WALL_DEFLECTION_WINDOW
    tags = dict(Hashtag.objects.filter(name__in=[s[1] for s in services]).values_list("name", "pk"))
    missing = [Hashtag(name=tag, service_id=pk) for pk, tag, _name in services if tag not in tags]
    Hashtag.objects.bulk_create(missing, ignore_conflicts=True)
    tags = dict(Hashtag.objects.filter(name__in=[s[1] for s in services]).values_list("name", "pk"))
    html: dict[str, str] = {}

    def body_html(text: str, tag: str | None) -> str:
        if text not in html:
            html[text] = render(text, tag_names=[tag] if tag else [], people={})
        return html[text]

    # Plan: each question with its answers (author, text, minutes after, voters, solved by).
    plans = []
    for _ in range(count):
        service_pk, tag, name = rng.choice(services)
        asker = rng.choice(requesters)
        asked_at = now - timedelta(days=rng.uniform(0.2, 90), minutes=rng.randint(0, 59))
        text = f"{rng.choice(QUESTIONS).format(tag=tag, name=name)} {MARKER}"
        others = [pk for pk in requesters if pk != asker]
        answerers = rng.sample(others, rng.randint(1, 4))
        if staff and rng.random() < 0.2:
            answerers[-1] = rng.choice(staff)
        answers: list[_Answer] = []
        for answerer in answerers:
            voters = [pk for pk in rng.sample(others, min(len(others), 6)) if pk != answerer]
            answers.append(
                _Answer(
                    author=answerer,
                    body=rng.choice(ANSWERS).format(name=name),
                    at=asked_at + timedelta(minutes=rng.randint(3, 600)),
                    voters=voters[: rng.randint(0, 5)],
                )
            )
        accepted = rng.randrange(len(answers)) if rng.random() < 0.68 else None
        solved: list[int] = []
        if accepted is not None:
            pool = [pk for pk in others if pk != answers[accepted].author]
            solved = rng.sample(pool, min(len(pool), rng.choice((0, 0, 1, 2, 3))))
        plans.append((service_pk, tag, asker, asked_at, text, answers, accepted, solved))

    questions = [
        Post(
            author_id=asker,
            body=text,
            body_html=body_html(text, tag),
            service_id=service_pk,
            is_question=True,
            reply_count=len(answers),
            created_at=asked_at,
        )
        for service_pk, tag, asker, asked_at, text, answers, _accepted, _solved in plans
    ]
    Post.objects.bulk_create(questions, batch_size=300)
    replies: list[Post] = []
    for question, plan in zip(questions, plans, strict=True):
        service_pk, _tag, _asker, _at, _text, answers, accepted, solved = plan
        for index, answer in enumerate(answers):
            replies.append(
                Post(
                    author_id=answer.author,
                    body=answer.body,
                    body_html=body_html(answer.body, None),
                    service_id=service_pk,
                    reply_to=question,
                    thread_root=question,
                    vote_count=len(answer.voters),
                    solved_count=len(solved) if index == accepted else 0,
                    created_at=answer.at,
                )
            )
    Post.objects.bulk_create(replies, batch_size=300)

    votes: list[AnswerVote] = []
    reactions: list[Reaction] = []
    awards: list[ReputationAward] = []
    accepted_posts: list[Post] = []
    at = 0
    for question, plan in zip(questions, plans, strict=True):
        service_pk, _tag, asker, _asked, _text, answers, accepted, solved = plan
        mine = replies[at : at + len(answers)]
        at += len(answers)
        for post, answer in zip(mine, answers, strict=True):
            votes.extend(
                AnswerVote(answer=post, voter_id=pk, created_at=post.created_at)
                for pk in answer.voters
            )
        if accepted is None:
            continue
        answer_post = mine[accepted]
        accepted_at = answer_post.created_at + timedelta(minutes=rng.randint(5, 240))
        question.accepted_answer = answer_post
        question.accepted_at = accepted_at
        accepted_posts.append(question)
        earned = [(asker, AwardReason.ACCEPTED, ACCEPTED_POINTS, accepted_at)]
        for index, pk in enumerate(solved):
            when = accepted_at + timedelta(hours=index + 1)
            reactions.append(
                Reaction(post=answer_post, user_id=pk, kind=ReactionKind.SOLVED, created_at=when)
            )
            earned.append((pk, AwardReason.SOLVED, SOLVED_POINTS, when))
        for beneficiary, reason, points, when in earned:
            due = when + window
            confirmed = due <= now
            awards.append(
                ReputationAward(
                    person_id=answer_post.author_id,
                    beneficiary_id=beneficiary,
                    answer=answer_post,
                    service_id=service_pk,
                    reason=reason,
                    points=points,
                    state=AwardState.CONFIRMED if confirmed else AwardState.PENDING,
                    created_at=when,
                    verify_after=due,
                    decided_at=due if confirmed else None,
                )
            )
    Post.objects.bulk_update(accepted_posts, ["accepted_answer", "accepted_at"], batch_size=300)
    AnswerVote.objects.bulk_create(votes, batch_size=500, ignore_conflicts=True)
    Reaction.objects.bulk_create(reactions, batch_size=500, ignore_conflicts=True)
    ReputationAward.objects.bulk_create(awards, batch_size=500, ignore_conflicts=True)
    through = Post.hashtags.through
    through.objects.bulk_create(
        [
            through(post_id=question.pk, hashtag_id=tags[plan[1]])
            for question, plan in zip(questions, plans, strict=True)
            if plan[1] in tags
        ],
        batch_size=500,
    )
    return {
        "questions": len(questions),
        "answers": len(replies),
        "answer votes": len(votes),
        "reputation awards": len(awards),
    }
