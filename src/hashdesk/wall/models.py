"""Posts, hashtags, mentions, reactions, follows and moderation of the wall.

A post's ``body`` is stored only after secrets were redacted (hashdesk.core.redaction): the
original text never reaches the database. Counters on Post (replies, reactions) are kept in
step by the actions so timelines need no aggregate per row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hashdesk.wall.choices import (
    AwardReason,
    AwardState,
    FollowKind,
    ModerationState,
    PostKind,
    PostVisibility,
    ReactionKind,
    ReportState,
    WatchedWordAction,
)

BODY_MAX = 2_000
HASHTAG_MAX = 50


class Hashtag(models.Model):
    """A #tag as people type it (stored lower case, without '#'). A service's hashtag binds
    posts to that service; any other tag is a free topic."""

    name = models.CharField(max_length=HASHTAG_MAX, unique=True)
    service = models.OneToOneField(
        "catalog.Service",
        on_delete=models.SET_NULL,
        related_name="wall_hashtag",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"#{self.name}"


class Post(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wall_posts"
    )
    kind = models.CharField(max_length=12, choices=PostKind.choices, default=PostKind.POST)
    body = models.TextField(max_length=BODY_MAX)
    body_html = models.TextField(blank=True)
    # What redaction removed, by kind and count (never the secrets themselves).
    redactions = models.JSONField(default=list, blank=True)
    # The first service hashtag of the post; its timeline and its followers see the post.
    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.SET_NULL,
        related_name="wall_posts",
        null=True,
        blank=True,
    )
    hashtags = models.ManyToManyField(Hashtag, related_name="posts", blank=True)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="wall_mentions", blank=True
    )
    visibility = models.CharField(
        max_length=10, choices=PostVisibility.choices, default=PostVisibility.PUBLIC
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="wall_posts", null=True, blank=True
    )
    # Threads: a reply names its parent and the thread's first post.
    reply_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="replies", null=True, blank=True
    )
    thread_root = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="thread_posts", null=True, blank=True
    )
    # The incident the post is about: set when it was promoted or an official update of it.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        related_name="wall_posts",
        null=True,
        blank=True,
    )
    is_pinned = models.BooleanField(default=False)
    # On a thread's first post: the reply its author accepted as the answer (story 7).
    accepted_answer = models.ForeignKey(
        "self", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    solved_count = models.PositiveIntegerField(default=0)
    # A thread's first post asking for help (issue 8): only questions take accepted answers.
    is_question = models.BooleanField(default=False)
    # On an answer (a reply in a question's thread): people's up-votes (wall.votes).
    vote_count = models.PositiveIntegerField(default=0)
    moderation = models.CharField(
        max_length=10, choices=ModerationState.choices, default=ModerationState.VISIBLE
    )
    moderation_reason = models.CharField(max_length=500, blank=True)
    reply_count = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    me_too_count = models.PositiveIntegerField(default=0)
    thanks_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"]),
            models.Index(fields=["service", "created_at"]),
            models.Index(fields=["author", "created_at"]),
            models.Index(fields=["thread_root", "created_at"]),
            models.Index(fields=["kind", "created_at"]),
            models.Index(
                fields=["created_at"],
                condition=Q(is_pinned=True),
                name="wall_post_pinned",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(is_question=True, accepted_answer__isnull=True),
                name="wall_post_unanswered",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility=PostVisibility.PUBLIC) | Q(team__isnull=False),
                name="wall_team_post_has_team",
            ),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"


class MediaAttachment(models.Model):
    """An image on a post (a Mastodon media attachment): uploaded first, by its uploader, then
    attached when the post is made (``post`` is null until then). The bytes live under
    ``settings.ATTACHMENTS_DIR`` with a random ``storage_name``, re-encoded without metadata."""

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_media"
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="media", null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=0)
    storage_name = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The alternative text read out by screen readers (Mastodon's "description").
    description = models.CharField(max_length=1_500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post", "position", "id"]
        indexes = [
            models.Index(fields=["post", "position"]),
            models.Index(
                fields=["created_at"],
                condition=Q(post__isnull=True),
                name="wall_media_unattached",
            ),
        ]

    def __str__(self) -> str:
        return f"Media {self.pk} ({self.filename})"


class PostRevision(models.Model):
    """An earlier text of an edited post (already redacted, like every stored text)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(max_length=BODY_MAX)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post", "created_at", "id"]

    def __str__(self) -> str:
        return f"Revision {self.pk} of post {self.post_id}"


class Reaction(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_reactions"
    )
    kind = models.CharField(max_length=10, choices=ReactionKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user", "kind"], name="unique_wall_reaction")
        ]
        indexes = [models.Index(fields=["user", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} on post {self.post_id}"


class Follow(models.Model):
    """Someone follows a service, a hashtag, a person or a thread (``target_id`` by ``kind``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_follows"
    )
    kind = models.CharField(max_length=10, choices=FollowKind.choices)
    target_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "target_id"], name="unique_wall_follow")
        ]
        indexes = [models.Index(fields=["kind", "target_id"])]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.kind} {self.target_id}"


class PostReport(models.Model):
    """Someone reported a post to the moderators."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_reports"
    )
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=ReportState.choices, default=ReportState.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "reporter"], name="unique_wall_report")
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"Report {self.pk} of post {self.post_id}"


class WatchedWord(models.Model):
    """A word or phrase moderators watch for: posts containing it are refused or held."""

    word = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=10, choices=WatchedWordAction.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class ReputationAward(models.Model):
    """Reputation an answer earned its author for a ticket it prevented (story 7).

    An award starts ``pending`` and is confirmed only when its ``beneficiary`` (the asker, or
    someone the answer also solved it for) reported no incident on the question's service
    before ``verify_after`` — the deflection is demonstrated, not assumed."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reputation_awards"
    )
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    answer = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="awards")
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    reason = models.CharField(max_length=10, choices=AwardReason.choices)
    points = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=AwardState.choices, default=AwardState.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    verify_after = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["answer", "beneficiary", "reason"], name="unique_reputation_award"
            )
        ]
        indexes = [
            models.Index(fields=["person", "state"]),
            models.Index(
                fields=["verify_after"],
                condition=Q(state="pending"),
                name="wall_award_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points} for {self.person_id} ({self.reason}, {self.state})"


class AnswerVote(models.Model):
    """One up-vote per person and answer (wall.votes); never on one's own answer."""

    answer = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wall_votes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["answer", "voter"], name="unique_wall_answer_vote")
        ]

    def __str__(self) -> str:
        return f"Vote by {self.voter_id} on answer {self.answer_id}"


class WorkaroundProposal(models.Model):
    """An accepted answer proposed as the workaround of a matching open problem (wall.questions)."""

    problem = models.ForeignKey(
        "problems.Problem", on_delete=models.CASCADE, related_name="wall_proposals"
    )
    answer = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="proposals")
    score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)
    # When a problem manager took it as the problem's workaround (wall.questions).
    adopted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["problem", "answer"], name="unique_wall_workaround_proposal"
            )
        ]

    def __str__(self) -> str:
        return f"Answer {self.answer_id} proposed for problem {self.problem_id}"
