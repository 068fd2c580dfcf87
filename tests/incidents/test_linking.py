"""Links between incidents and the merge of duplicates: the actions, the API and the pages."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.incidents import actions, linking
from hashdesk.incidents.choices import LinkKind, ResolutionCode, State, TimelineKind
from hashdesk.incidents.models import (
    AffectedUser,
    Attachment,
    Incident,
    IncidentFollower,
    IncidentLink,
    IncidentSlaClock,
    TimelineEntry,
)
from hashdesk.incidents.schemas import LinkKindName
from hashdesk.notify.models import Notification
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.incidents.major_support import nothing_written

pytestmark = pytest.mark.django_db


def report(person, service, title="VPN is down again", **fields) -> Incident:
    return actions.do_create_incident(
        person, title=title, description="", service=service, **fields
    )


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def kinds(incident: Incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident)
        .values_list("kind", flat=True)
        .order_by("id")
    )


def streams_of(events, type_="incident", op=None) -> list[set[str]]:
    return [set(e.streams) for e in events if e.type == type_ and (op is None or e.op == op)]


@pytest.fixture
def duplicate(other_requester, vpn_service) -> Incident:
    """Reported by a colleague in another department (Sales) about the same VPN fault."""
    return report(other_requester, vpn_service, title="Cannot stay connected to VPN")


@pytest.fixture
def confidential(vpn_agent, security_service, requester) -> Incident:
    return report(vpn_agent, security_service, title="Phishing wave", reporter=requester)


def test_link_kinds_in_the_api_match_the_model():
    assert set(get_args(LinkKindName)) == set(LinkKind.values)


# --- Links --------------------------------------------------------------------------------------


def test_staff_link_a_duplicate_on_both_timelines(
    vpn_agent, vpn_incident, duplicate, capture_events
):
    with capture_events() as events:
        link = linking.do_link(vpn_agent, duplicate, vpn_incident, LinkKind.DUPLICATE_OF)

    assert (link.from_incident, link.to_incident, link.kind) == (
        duplicate,
        vpn_incident,
        LinkKind.DUPLICATE_OF,
    )
    here = TimelineEntry.objects.get(incident=duplicate, kind=TimelineKind.LINK)
    there = TimelineEntry.objects.get(incident=vpn_incident, kind=TimelineKind.LINK)
    assert here.data == {
        "link_kind": "duplicate_of",
        "other": vpn_incident.number,
        "outgoing": True,
        "removed": False,
    }
    assert there.data["other"] == duplicate.number and there.data["outgoing"] is False
    assert here.is_public and there.is_public
    assert AuditEntry.objects.filter(action="incident.link", object_id=str(duplicate.pk)).exists()
    linked = [e for e in events if e.type == "incident" and e.op == "link"]
    assert {e.payload["incident"]["number"] for e in linked} == {
        duplicate.number,
        vpn_incident.number,
    }
    # Each incident's own people hear of it.
    assert f"user:{duplicate.reporter_id}" in set(linked[0].streams)
    assert f"user:{vpn_incident.reporter_id}" in set(linked[1].streams)


def test_requesters_cannot_link(requester, vpn_incident, duplicate):
    actions.do_add_affected_user(None, duplicate, requester)
    with nothing_written(), pytest.raises(Forbidden):
        linking.do_link(requester, vpn_incident, duplicate, LinkKind.RELATED)


def test_an_invisible_other_incident_is_not_found(requester, vpn_incident, confidential):
    # Looked up before the permission check, so the answer does not confirm it exists.
    with pytest.raises(NotFound):
        linking.do_link(requester, vpn_incident, confidential, LinkKind.RELATED)


def test_no_link_to_itself(vpn_agent, vpn_incident):
    with nothing_written(), pytest.raises(ValidationFailed) as error:
        linking.do_link(vpn_agent, vpn_incident, vpn_incident, LinkKind.RELATED)
    assert error.value.field == "incident"


def test_merged_into_is_only_for_merges(vpn_agent, vpn_incident, duplicate):
    with pytest.raises(ValidationFailed) as error:
        linking.do_link(vpn_agent, duplicate, vpn_incident, LinkKind.MERGED_INTO)
    assert error.value.field == "kind"


@pytest.mark.parametrize(
    ("first", "second", "reverse"),
    [
        (LinkKind.RELATED, LinkKind.RELATED, False),
        (LinkKind.RELATED, LinkKind.RELATED, True),  # related has no direction
        (LinkKind.DUPLICATE_OF, LinkKind.DUPLICATE_OF, False),
        (LinkKind.DUPLICATE_OF, LinkKind.DUPLICATE_OF, True),  # both ways round contradicts
    ],
)
def test_the_same_link_twice_is_a_conflict(
    vpn_agent, vpn_incident, duplicate, first, second, reverse
):
    linking.do_link(vpn_agent, duplicate, vpn_incident, first)
    source, target = (vpn_incident, duplicate) if reverse else (duplicate, vpn_incident)
    with pytest.raises(Conflict):
        linking.do_link(vpn_agent, source, target, second)
    assert IncidentLink.objects.count() == 1


def test_a_duplicate_can_also_be_related(vpn_agent, vpn_incident, duplicate):
    linking.do_link(vpn_agent, duplicate, vpn_incident, LinkKind.DUPLICATE_OF)
    linking.do_link(vpn_agent, duplicate, vpn_incident, LinkKind.RELATED)
    assert IncidentLink.objects.count() == 2


def test_a_link_to_a_confidential_incident_stays_off_public_timelines(
    vpn_agent, vpn_incident, confidential
):
    linking.do_link(vpn_agent, vpn_incident, confidential, LinkKind.RELATED)
    entry = TimelineEntry.objects.get(incident=vpn_incident, kind=TimelineKind.LINK)
    assert not entry.is_public


def test_links_shown_only_when_both_ends_are_visible(
    vpn_agent, requester, vpn_incident, duplicate, confidential
):
    linking.do_link(vpn_agent, vpn_incident, duplicate, LinkKind.RELATED)
    linking.do_link(vpn_agent, vpn_incident, confidential, LinkKind.RELATED)
    # The requester reported vpn_incident but neither follows nor is affected by the duplicate.
    assert [v.other for v in linking.visible_links(requester, vpn_incident)] == []
    actions.do_add_affected_user(None, duplicate, requester)
    seen = linking.visible_links(requester, vpn_incident)
    assert [(v.phrase, v.other) for v in seen] == [("Related to", duplicate)]
    assert len(linking.visible_links(vpn_agent, vpn_incident)) == 2


def test_unlink_records_on_both_timelines(vpn_agent, requester, vpn_incident, duplicate):
    link = linking.do_link(vpn_agent, duplicate, vpn_incident, LinkKind.DUPLICATE_OF)
    with pytest.raises(Forbidden):
        linking.do_unlink(requester, vpn_incident, link)

    linking.do_unlink(vpn_agent, vpn_incident, link)

    assert not IncidentLink.objects.exists()
    removed = TimelineEntry.objects.filter(kind=TimelineKind.LINK, data__removed=True)
    assert {e.incident_id for e in removed} == {vpn_incident.pk, duplicate.pk}
    assert AuditEntry.objects.filter(action="incident.unlink").count() == 1


# --- Merge --------------------------------------------------------------------------------------


@pytest.fixture
def crowded_duplicate(duplicate, requester, make_person, vpn_agent) -> Incident:
    """The duplicate with people, a follower, a work note and an attachment of its own."""
    actions.do_add_affected_user(None, duplicate, requester)  # already on the survivor too
    helper = make_person("helper@example.test", roles=["requester"], department="Sales")
    actions.do_add_affected_user(None, duplicate, helper)
    actions.do_follow(vpn_agent, duplicate)
    actions.do_add_update(vpn_agent, duplicate, body="Checked the concentrator.", public=False)
    Attachment.objects.create(
        incident=duplicate,
        uploaded_by=helper,
        filename="vpn.log",
        content_type="text/plain",
        size=12,
        sha256="0" * 64,
        storage_name="merge-test-storage-name",
    )
    return fresh(duplicate)


def test_merge_moves_people_timeline_and_attachments(
    problem_manager, requester, other_requester, vpn_agent, vpn_incident, crowded_duplicate
):
    duplicate = crowded_duplicate
    helper = AffectedUser.objects.get(incident=duplicate, user__email="helper@example.test").user
    entries_before = set(
        TimelineEntry.objects.filter(incident=duplicate).values_list("pk", flat=True)
    )

    survivor = linking.do_merge(
        problem_manager, duplicate, vpn_incident, expected_version=duplicate.version
    )

    assert survivor == vpn_incident
    affected = set(AffectedUser.objects.filter(incident=survivor).values_list("user", flat=True))
    assert affected == {requester.pk, other_requester.pk, helper.pk}
    # The requester was on both: their row stays with the duplicate (one row per person).
    assert list(AffectedUser.objects.filter(incident=duplicate).values_list("user", flat=True)) == [
        requester.pk
    ]
    followers = set(
        IncidentFollower.objects.filter(incident=survivor).values_list("user", flat=True)
    )
    assert followers >= {requester.pk, other_requester.pk, helper.pk, vpn_agent.pk}
    moved = TimelineEntry.objects.filter(pk__in=entries_before)
    assert {e.incident_id for e in moved} == {survivor.pk}
    assert all(e.data["merged_from"] == duplicate.number for e in moved)
    assert moved.filter(kind=TimelineKind.WORK_NOTE, is_public=False).count() == 1
    assert Attachment.objects.get(storage_name="merge-test-storage-name").incident == survivor


def test_merge_closes_the_duplicate_as_a_pointer(problem_manager, vpn_incident, crowded_duplicate):
    duplicate = crowded_duplicate
    version = duplicate.version

    linking.do_merge(problem_manager, duplicate, vpn_incident)

    closed = fresh(duplicate)
    assert closed.state == State.CLOSED
    assert closed.merged_into == vpn_incident
    assert closed.resolution_code == ResolutionCode.DUPLICATE
    assert closed.closed_at is not None and closed.version == version + 1
    assert IncidentLink.objects.filter(
        from_incident=duplicate, to_incident=vpn_incident, kind=LinkKind.MERGED_INTO
    ).exists()
    assert all(
        c.stopped_at is not None for c in IncidentSlaClock.objects.filter(incident=duplicate)
    )
    assert kinds(closed) == [TimelineKind.STATE_CHANGE, TimelineKind.MERGE]
    assert AuditEntry.objects.filter(action="incident.merge_duplicate").count() == 1
    assert AuditEntry.objects.filter(action="incident.merge_survivor").count() == 1


def test_merge_stops_the_duplicates_sla_clocks(problem_manager, vpn_agent, requester, vpn_service):
    survivor = report(requester, vpn_service, title="VPN down")
    duplicate = report(vpn_agent, vpn_service, title="VPN down too", impact=1, urgency=1)
    assert IncidentSlaClock.objects.filter(incident=duplicate, stopped_at=None).count() == 2

    linking.do_merge(problem_manager, duplicate, survivor)

    assert IncidentSlaClock.objects.filter(incident=duplicate, stopped_at=None).count() == 0
    assert fresh(duplicate).sla_due_at is None


def test_merge_rescores_the_survivor(problem_manager, vpn_incident, duplicate):
    # Finance (the requester) and Sales (the colleague): two departments meet the medium rule.
    assert vpn_incident.impact == 3

    linking.do_merge(problem_manager, duplicate, vpn_incident)

    survivor = fresh(vpn_incident)
    assert survivor.impact == 2 and survivor.priority == 4
    merge = TimelineEntry.objects.get(incident=survivor, kind=TimelineKind.MERGE)
    assert merge.is_public
    assert merge.body == f"{duplicate.number} merged into this incident; 1 affected person joined."
    assert TimelineEntry.objects.filter(
        incident=survivor, kind=TimelineKind.PRIORITY_CHANGE, data__reason="impact_policy"
    ).exists()


def test_merge_tells_the_duplicates_followers_and_both_audiences(
    problem_manager, requester, other_requester, vpn_incident, duplicate, capture_events
):
    with capture_events() as events:
        linking.do_merge(problem_manager, duplicate, vpn_incident)

    notice = Notification.objects.get(recipient=other_requester, kind="incident.merged")
    assert notice.url == f"/incidents/{vpn_incident.number}/"
    assert vpn_incident.number in notice.title
    assert not Notification.objects.filter(recipient=requester, kind="incident.merged").exists()
    merges = {e.payload["incident"]["number"]: set(e.streams) for e in events if e.op == "merge"}
    assert f"user:{other_requester.pk}" in merges[duplicate.number]
    assert f"user:{other_requester.pk}" in merges[vpn_incident.number]  # joined the survivor
    assert f"user:{requester.pk}" in merges[vpn_incident.number]
    notified = [e for e in events if e.type == "notification"]
    assert [set(e.streams) for e in notified] == [{f"user:{other_requester.pk}"}]


@pytest.mark.parametrize(
    "setup",
    ["same", "closed_survivor", "merged_survivor", "closed_duplicate", "confidential"],
)
def test_merge_refusals_change_nothing(
    setup, problem_manager, vpn_agent, vpn_incident, duplicate, confidential
):
    survivor = vpn_incident
    if setup == "same":
        survivor = duplicate
    elif setup == "closed_survivor":
        actions.do_transition(
            vpn_agent,
            vpn_incident,
            State.CANCELLED,
            expected_version=vpn_incident.version,
            resolution_notes="Not ours.",
        )
    elif setup == "merged_survivor":
        third = report(vpn_agent, vpn_incident.service, title="Third report")
        linking.do_merge(vpn_agent, vpn_incident, third)
        survivor = fresh(vpn_incident)
    elif setup == "closed_duplicate":
        actions.do_transition(
            vpn_agent,
            duplicate,
            State.CANCELLED,
            expected_version=duplicate.version,
            resolution_notes="Not ours.",
        )
    elif setup == "confidential":
        survivor = confidential
    with nothing_written(), pytest.raises(ValidationFailed):
        linking.do_merge(problem_manager, fresh(duplicate), fresh(survivor))
    assert fresh(duplicate).merged_into is None


def test_merge_permissions_and_versions(
    requester, other_requester, vpn_agent, vpn_incident, duplicate, confidential
):
    actions.do_add_affected_user(None, duplicate, requester)
    with nothing_written(), pytest.raises(Forbidden):
        linking.do_merge(requester, duplicate, vpn_incident)
    with nothing_written(), pytest.raises(NotFound):
        linking.do_merge(other_requester, duplicate, confidential)
    with nothing_written(), pytest.raises(Conflict):
        linking.do_merge(
            vpn_agent, duplicate, vpn_incident, expected_version=fresh(duplicate).version + 1
        )


# --- API ----------------------------------------------------------------------------------------


@pytest.fixture
def agent_api(vpn_agent) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(vpn_agent)}"})


@pytest.fixture
def requester_api(requester) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})


def path(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.number}{suffix}"


def test_api_links_create_list_delete(agent_api, vpn_agent, vpn_incident, duplicate):
    response = agent_api.post(
        path(duplicate, "/links"), {"incident": vpn_incident.number.lower(), "kind": "duplicate_of"}
    )
    assert response.status_code == 201, response.content
    created = json.loads(response.content)
    assert created["kind"] == "duplicate_of" and created["direction"] == "outgoing"
    assert created["incident"]["number"] == vpn_incident.number
    assert created["created_by"]["id"] == vpn_agent.pk

    listed = json.loads(agent_api.get(path(vpn_incident, "/links")).content)
    assert [(i["id"], i["direction"]) for i in listed] == [(created["id"], "incoming")]

    assert agent_api.delete(path(vpn_incident, f"/links/{created['id']}")).status_code == 204
    assert json.loads(agent_api.get(path(vpn_incident, "/links")).content) == []


def test_api_link_errors(agent_api, requester_api, vpn_incident, duplicate, confidential):
    assert_problem(
        agent_api.post(
            path(vpn_incident, "/links"), {"incident": vpn_incident.number, "kind": "related"}
        ),
        422,
    )
    assert_problem(
        requester_api.post(
            path(vpn_incident, "/links"), {"incident": confidential.number, "kind": "related"}
        ),
        404,
    )
    assert_problem(
        requester_api.post(
            path(vpn_incident, "/links"), {"incident": vpn_incident.number, "kind": "related"}
        ),
        403,
    )
    assert_problem(
        agent_api.post(path(vpn_incident, "/links"), {"incident": "VPN", "kind": "related"}), 422
    )
    assert_problem(agent_api.delete(path(vpn_incident, "/links/999")), 404)
    assert_problem(requester_api.get(path(confidential, "/links")), 404)


def test_api_merge(agent_api, requester_api, vpn_incident, duplicate):
    assert_problem(
        requester_api.post(path(duplicate, "/merge"), {"into": vpn_incident.number}), 404
    )
    assert_problem(
        agent_api.post(path(duplicate, "/merge"), {"into": vpn_incident.number, "version": 9}), 409
    )

    response = agent_api.post(path(duplicate, "/merge"), {"into": vpn_incident.number})

    assert response.status_code == 200, response.content
    assert json.loads(response.content)["number"] == vpn_incident.number
    detail = json.loads(agent_api.get(path(duplicate)).content)
    assert detail["merged_into"] == vpn_incident.number and detail["state"] == "closed"


# --- Pages --------------------------------------------------------------------------------------


@pytest.fixture
def agent_browser(vpn_agent) -> Client:
    client = Client()
    client.force_login(vpn_agent)
    return client


@pytest.fixture
def requester_browser(requester) -> Client:
    client = Client()
    client.force_login(requester)
    return client


def page(incident: Incident, suffix: str) -> str:
    return f"/incidents/{incident.number}/{suffix}"


def test_link_page_flow(agent_browser, vpn_incident, duplicate):
    response = agent_browser.post(
        page(duplicate, "links/"),
        {"link-incident": str(vpn_incident.pk), "link-kind": "duplicate_of"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{duplicate.number}/#links"
    link = IncidentLink.objects.get()

    bad = agent_browser.post(
        page(duplicate, "links/"), {"link-incident": "INC-999999", "link-kind": "related"}
    )
    assert bad.status_code == 400
    assert "There is no incident INC-999999." in bad.content.decode()

    removed = agent_browser.post(page(duplicate, f"links/{link.pk}/delete/"))
    assert removed.status_code == 302 and not IncidentLink.objects.exists()


def test_requesters_get_no_link_or_merge_pages(requester_browser, vpn_incident, duplicate):
    assert requester_browser.get(page(vpn_incident, "links/")).status_code == 403
    assert requester_browser.post(
        page(vpn_incident, "merge/"), {"merge-into": duplicate.number, "merge-version": "1"}
    ).status_code in {403, 404}
    # An incident they may not see is a 404 whatever they ask of it.
    assert requester_browser.get(page(duplicate, "links/")).status_code == 404
    assert not IncidentLink.objects.exists()


def test_merge_page_reviews_then_merges(agent_browser, vpn_incident, duplicate):
    assert agent_browser.get(page(duplicate, "merge/")).status_code == 200
    form = {"merge-into": vpn_incident.number, "merge-version": str(duplicate.version)}
    review = agent_browser.post(page(duplicate, "merge/"), form)
    assert review.status_code == 200
    text = review.content.decode()
    assert f"Merge {duplicate.number} into {vpn_incident.number}?" in text
    assert fresh(duplicate).merged_into is None

    done = agent_browser.post(page(duplicate, "merge/"), {**form, "merge-confirm": "on"})

    assert done.status_code == 302 and done["Location"] == f"/incidents/{vpn_incident.number}/"
    assert fresh(duplicate).merged_into == vpn_incident


def test_merge_page_shows_refusals_on_the_form(agent_browser, vpn_incident, duplicate):
    stale = agent_browser.post(
        page(duplicate, "merge/"),
        {"merge-into": vpn_incident.number, "merge-version": "99", "merge-confirm": "on"},
    )
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    itself = agent_browser.post(
        page(duplicate, "merge/"), {"merge-into": duplicate.number, "merge-version": "1"}
    )
    assert itself.status_code == 400 and "cannot be merged into itself" in itself.content.decode()
    assert fresh(duplicate).merged_into is None
