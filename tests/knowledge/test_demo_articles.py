"""The demo's knowledge base (demo/articles.py): published articles in bulk, once."""

from __future__ import annotations

import pytest

from hashdesk.demo.articles import load_articles
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.index import rebuild
from hashdesk.insights.models import IndexedItem
from hashdesk.knowledge.choices import ArticleState
from hashdesk.knowledge.models import Article, ArticleVersion

pytestmark = pytest.mark.django_db


def test_demo_articles_are_published_numbered_versioned_and_loaded_once(
    vpn_agent, vpn_service, sso_service, administrator, query_count
):
    with query_count() as queries:
        created = load_articles(seed=3, count=12)
    assert created == {"articles": 12, "article versions": 24}
    assert len(queries) < 30  # bulk inserts, not one query per article
    articles = list(Article.objects.prefetch_related("services"))
    assert all(a.state == ArticleState.PUBLISHED and a.number for a in articles)
    assert all(a.number == f"KB-{a.pk:06d}" and a.review_due_at for a in articles)
    assert all(len(a.services.all()) == 1 for a in articles)
    assert "VPN keeps disconnecting on Wi-Fi" in {a.title for a in articles}
    # VPN's are owned by its team's agent; SSO has no owner team: the administrator.
    owners = {a.owner_id for a in articles if a.services.all()[0] == vpn_service}
    assert owners == {vpn_agent.pk}
    assert ArticleVersion.objects.filter(version=2).count() == 12
    assert load_articles(seed=3, count=12) == {}
    assert Article.objects.count() == 12
    # The loader rebuilds the similarity index afterwards; the articles are in it.
    rebuild()
    assert IndexedItem.objects.filter(kind=ItemKind.ARTICLE).count() == 12
