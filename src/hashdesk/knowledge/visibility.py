"""Who may read which article (registered with hashdesk.core.visibility; docs/knowledge.md).

Staff read every article, drafts included. Everyone else who is signed in reads **published**
articles that are public; drafts, articles in review, retired and internal articles are the
desk's. Anonymous visitors read nothing (the status page is for the public).
"""

from django.db.models import Q

from hashdesk.core import visibility
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleFeedback, ArticleVersion


@visibility.register(Article)
def articles_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(state=ArticleState.PUBLISHED, visibility=ArticleVisibility.PUBLIC)


@visibility.register(ArticleVersion)
def versions_visible(user: visibility.Viewer) -> Q:
    """Earlier versions are the editors' (staff): readers see the current text."""
    if visibility.is_staff(user):
        return Q()
    return Q(pk__in=[])


@visibility.register(ArticleFeedback)
def feedback_visible(user: visibility.Viewer) -> Q:
    """Staff read every feedback (comments included); anyone else their own."""
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(person_id=user.pk)
