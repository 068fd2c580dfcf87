"""Vocabulary of the wall."""

from django.db import models


class PostVisibility(models.TextChoices):
    """Who may read a post: every signed-in person, or one team (and staff)."""

    PUBLIC = "public", "Everyone signed in"
    TEAM = "team", "Team only"


class PostKind(models.TextChoices):
    POST = "post", "Post"
    # Written by the system from an incident's public update, a major-incident notice or a
    # change announcement; shown on the service's timeline as the desk speaking.
    OFFICIAL = "official", "Official update"
    ANNOUNCEMENT = "announcement", "Announcement"


class ReactionKind(models.TextChoices):
    LIKE = "like", "Like"
    ME_TOO = "me_too", "Me too"
    THANKS = "thanks", "Thanks"
    # "This answer solved it for me too", on a thread's accepted answer: a ticket someone
    # did not need to raise, which earns the answer's author reputation once verified.
    SOLVED = "solved", "Solved it for me too"


class FollowKind(models.TextChoices):
    SERVICE = "service", "Service"
    HASHTAG = "hashtag", "Hashtag"
    PERSON = "person", "Person"
    THREAD = "thread", "Thread"


class ModerationState(models.TextChoices):
    VISIBLE = "visible", "Visible"
    # Held by a watched word until a moderator approves it; only its author and moderators see it.
    HELD = "held", "Held for review"
    HIDDEN = "hidden", "Hidden by a moderator"


class WatchedWordAction(models.TextChoices):
    BLOCK = "block", "Refuse the post"
    HOLD = "hold", "Hold the post for review"


class ReportState(models.TextChoices):
    OPEN = "open", "Open"
    HIDDEN = "hidden", "Post hidden"
    DISMISSED = "dismissed", "Dismissed"


class AwardReason(models.TextChoices):
    """Why an answer's author earns reputation: the asker accepted it, or someone else said
    it solved their problem too."""

    ACCEPTED = "accepted", "Answer accepted"
    SOLVED = "solved", "Answer solved it for someone else"
    # The answer's article draft was published, or its problem's known error with it.
    ARTICLE = "article", "Answer became an article"
    WORKAROUND = "workaround", "Answer became a workaround"


class AwardState(models.TextChoices):
    # Earned but not yet verified: the ticket must stay unraised for the verification window.
    PENDING = "pending", "Pending verification"
    CONFIRMED = "confirmed", "Confirmed"
    # The beneficiary reported an incident on the question's service in the window, the
    # acceptance was withdrawn or the answer removed.
    VOID = "void", "Void"
