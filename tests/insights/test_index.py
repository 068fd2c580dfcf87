"""The similarity index follows the records: saves, deletes, bulk paths, catch-up, rebuild.

The index is written when the record's transaction commits; tests run inside one transaction
that never commits, so they run the commit callbacks with ``committed()``."""

from __future__ import annotations

from functools import partial

from django.test import TestCase

from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident
from hashdesk.insights import index
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.models import IndexedItem
from hashdesk.insights.text import tokens
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article
from hashdesk.wall import actions as wall_actions

committed = partial(TestCase.captureOnCommitCallbacks, execute=True)


def _row(kind: str, pk: int) -> IndexedItem | None:
    return IndexedItem.objects.filter(kind=kind, object_id=pk).first()


def test_a_new_incident_is_indexed_with_analysed_text(requester, vpn_service):
    with committed():
        incident = incident_actions.do_create_incident(
            requester,
            title="VPN crashes",
            description="The VPN client crashed twice while connecting",
            service=vpn_service,
        )
    row = _row(ItemKind.INCIDENT, incident.pk)
    assert row is not None
    text = "VPN crashes\nThe VPN client crashed twice while connecting"
    assert row.text == " ".join(tokens(text))
    assert "crash" in row.text.split() and "the" not in row.text.split()
    assert row.service_id == vpn_service.pk and row.is_open and row.title == "VPN crashes"


def test_nothing_is_indexed_before_commit_nor_after_a_rollback(requester, vpn_service):
    from django.db import transaction

    with committed():
        try:
            with transaction.atomic():
                incident_actions.do_create_incident(
                    requester, title="Rolled back", description="", service=vpn_service
                )
                assert not IndexedItem.objects.exists()  # not before commit
                raise RuntimeError("the caller's own step failed")
        except RuntimeError:
            pass
    assert not IndexedItem.objects.exists()


def test_indexing_adds_no_statement_to_the_save(requester, vpn_service, query_count):
    with committed():
        incident = incident_actions.do_create_incident(
            requester, title="Printer jammed", description="", service=vpn_service
        )
    incident.title = "Printer jammed again"
    with query_count() as ctx, TestCase.captureOnCommitCallbacks() as callbacks:
        incident.save(update_fields=["title"])
    assert len(ctx) == 1 and len(callbacks) == 1  # the UPDATE; the index after commit
    callbacks[0]()
    assert _row(ItemKind.INCIDENT, incident.pk).title == "Printer jammed again"
    # A save of fields the index does not keep leaves nothing to do after commit.
    incident.last_reminded_at = incident.created_at
    with TestCase.captureOnCommitCallbacks() as callbacks:
        incident.save(update_fields=["last_reminded_at"])
    assert callbacks == []


def test_closing_and_deleting_follow(requester, vpn_service):
    with committed():
        incident = incident_actions.do_create_incident(
            requester, title="Printer jammed", description="", service=vpn_service
        )
    Incident.objects.filter(pk=incident.pk).update(state=State.CLOSED)
    incident.refresh_from_db()
    with committed():
        incident.save(update_fields=["state"])
    row = _row(ItemKind.INCIDENT, incident.pk)
    assert row is not None and not row.is_open
    assert index.remove_object(incident) == 1
    assert index.remove_object(incident) == 0  # idempotent
    assert index.index_object(incident) == 1
    assert index.index_object(incident) == 1  # an upsert, not a second row
    assert IndexedItem.objects.filter(kind=ItemKind.INCIDENT, object_id=incident.pk).count() == 1


def test_articles_are_indexed_once_published(vpn_agent):
    with committed():
        article = Article.objects.create(
            title="Reset your token", body="How to reset the token", owner=vpn_agent
        )
    assert _row(ItemKind.ARTICLE, article.pk) is None
    article.state = ArticleState.PUBLISHED
    article.visibility = ArticleVisibility.PUBLIC
    with committed():
        article.save()
    assert _row(ItemKind.ARTICLE, article.pk) is not None
    article.state = ArticleState.RETIRED
    with committed():
        article.save(update_fields=["state"])
    assert _row(ItemKind.ARTICLE, article.pk) is None
    with committed():
        article.state = ArticleState.PUBLISHED
        article.save(update_fields=["state"])
        pk = article.pk
        article.delete()
    assert _row(ItemKind.ARTICLE, pk) is None


def test_posts_and_deleted_posts(requester):
    with committed():
        post = wall_actions.do_post(requester, body="Printer on floor three jammed")
        reply = wall_actions.do_post(requester, body="me too", reply_to=post)
    assert _row(ItemKind.POST, post.pk) is not None
    assert _row(ItemKind.POST, reply.pk) is None  # replies are found through their thread
    with committed():
        wall_actions.do_delete_post(requester, post)
    assert _row(ItemKind.POST, post.pk) is None


def test_bulk_paths_are_caught_up_and_rebuilt(requester, vpn_service):
    Incident.objects.bulk_create(
        [
            Incident(title=f"Bulk {n} outage", service=vpn_service, reporter=requester)
            for n in range(3)
        ]
    )
    assert IndexedItem.objects.filter(kind=ItemKind.INCIDENT).count() == 0
    assert index.catch_up()["incident"] == 3
    assert IndexedItem.objects.filter(kind=ItemKind.INCIDENT).count() == 3
    assert index.catch_up()["incident"] == 0  # nothing newer than the watermark
    IndexedItem.objects.all().delete()
    counts = index.rebuild()
    assert counts["incident"] == 3
    assert index.index_many("incident", Incident.objects.all()) == 3
    assert IndexedItem.objects.count() == 3


def test_intake_batches_are_indexed_after_commit(requester, vpn_service):
    from hashdesk.incidents.intake import NewIncident, do_create_incidents

    with committed():
        created = do_create_incidents(
            requester,
            [
                NewIncident(title="Mail bounces", description="", service=vpn_service),
                NewIncident(title="Mail slow", description="", service=vpn_service),
            ],
        )
        assert not IndexedItem.objects.exists()
    assert {row.object_id for row in IndexedItem.objects.filter(kind=ItemKind.INCIDENT)} == {
        incident.pk for incident in created
    }
