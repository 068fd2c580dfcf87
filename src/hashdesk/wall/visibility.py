"""Visibility rules of the wall (registered with hashdesk.core.visibility; docs/wall.md).

Staff see every post, moderation included. A signed-in person sees posts that are not deleted,
not hidden, and not held (except their own held posts), that are public or of a team they are
in, whose service they may see, and never a post about a confidential incident. Anonymous
visitors see none: the wall is for the organisation (the status page speaks to the public).
"""

from django.db.models import Q

from hashdesk.catalog.choices import Visibility
from hashdesk.core import visibility
from hashdesk.wall.choices import ModerationState, PostVisibility
from hashdesk.wall.models import Follow, MediaAttachment, Post, PostReport, Reaction, WatchedWord


@visibility.register(Post)
def posts_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    moderation = Q(moderation=ModerationState.VISIBLE) | Q(
        moderation=ModerationState.HELD, author_id=user.pk
    )
    audience = Q(visibility=PostVisibility.PUBLIC) | Q(
        visibility=PostVisibility.TEAM,
        team_id__in=user.memberships.values("team_id"),
    )
    service = Q(service__isnull=True) | Q(
        service__visibility__in=visibility.visibility_levels(user)
    )
    incident = Q(incident__isnull=True) | ~Q(incident__visibility=Visibility.CONFIDENTIAL)
    return Q(deleted_at__isnull=True) & moderation & audience & service & incident


def _visible_post_ids(user: visibility.Viewer) -> Q:
    return Q(post__in=Post.objects.filter(posts_visible(user)).values("pk"))


@visibility.register(Reaction)
def reactions_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return _visible_post_ids(user)


@visibility.register(MediaAttachment)
def media_visible(user: visibility.Viewer) -> Q:
    # An image is seen exactly where its post is (hidden, deleted, team, confidential: all
    # follow the post); one not yet on a post, only by its uploader.
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(post__isnull=True, uploader_id=user.pk) | _visible_post_ids(user)


def linked_media() -> Q:
    """What a signed image link (wall.media.media_link) still opens: an image on a post that is
    neither deleted nor hidden nor held. Whether its holder may see the post was decided when
    the link was handed out; what happened to the post since is decided here."""
    return Q(
        post__isnull=False,
        post__deleted_at__isnull=True,
        post__moderation=ModerationState.VISIBLE,
    )


@visibility.register(Follow)
def follows_visible(user: visibility.Viewer) -> Q:
    # What someone follows is their own business; staff see it to support them.
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(user_id=user.pk)


@visibility.register(PostReport)
def reports_visible(user: visibility.Viewer) -> Q:
    # Moderators (staff) see every report; a person sees the reports they filed.
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(reporter_id=user.pk)


@visibility.register(WatchedWord)
def watched_words_visible(user: visibility.Viewer) -> Q:
    # The list would tell people how to get around it: moderators only.
    return Q() if visibility.is_staff(user) else Q(pk__in=[])
