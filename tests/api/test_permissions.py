"""The permission matrix: who reads and writes which service, and confidential services never leak.

People: anonymous, requester, agent, administrator. Services: public (VPN), internal (Remote
desktop), confidential (Security operations). A service someone may not see answers 404 exactly
like one that does not exist, and is absent from every list and graph they receive.
"""

from __future__ import annotations

import json

import pytest

from hashdesk.catalog import actions
from hashdesk.catalog.models import Service
from tests.api.support import ApiCaller, assert_problem

pytestmark = pytest.mark.django_db

SLUGS = {"public": "vpn", "internal": "remote-desktop", "confidential": "security-operations"}

# Reading one service: the status each person gets, by the service's visibility.
READ = {
    "anonymous": {"public": 401, "internal": 401, "confidential": 401},
    "requester": {"public": 200, "internal": 200, "confidential": 404},
    "agent": {"public": 200, "internal": 200, "confidential": 200},
    "administrator": {"public": 200, "internal": 200, "confidential": 200},
}
# Changing one service (PATCH): only administrators; invisible stays invisible (404, not 403).
WRITE = {
    "anonymous": {"public": 401, "internal": 401, "confidential": 401},
    "requester": {"public": 403, "internal": 403, "confidential": 404},
    "agent": {"public": 403, "internal": 403, "confidential": 403},
    "administrator": {"public": 200, "internal": 200, "confidential": 200},
}


@pytest.fixture
def catalogue(vpn_service, security_service):
    """Remote desktop (internal) and Security operations (confidential) depend on VPN."""
    remote = actions.do_create_service(None, name="Remote desktop", hashtag="rdp")
    actions.do_add_dependency(None, remote, vpn_service)
    actions.do_add_dependency(None, security_service, vpn_service)
    actions.do_create_configuration_item(None, service=vpn_service, name="vpn-gw")
    actions.do_create_configuration_item(None, service=security_service, name="siem-01")
    return {"public": vpn_service, "internal": remote, "confidential": security_service}


FIXTURE_OF = {"requester": "requester", "agent": "vpn_agent", "administrator": "administrator"}


class Callers(dict):
    """Callers by person, each made on first use (creating people hashes passwords: slow)."""

    def __init__(self, request, anonymous, as_token):
        super().__init__(anonymous=anonymous)
        self.request = request
        self.as_token = as_token

    def __missing__(self, person):
        self[person] = self.as_token(self.request.getfixturevalue(FIXTURE_OF[person]))
        return self[person]


@pytest.fixture
def callers(request, catalogue, anonymous, as_token):
    return Callers(request, anonymous, as_token)


def body(response):
    return json.loads(response.content)


@pytest.mark.parametrize("person", list(READ))
@pytest.mark.parametrize("level", list(SLUGS))
def test_reading_a_service(callers, person, level):
    response = callers[person].get(f"/api/v1/services/{SLUGS[level]}")
    expected = READ[person][level]
    if expected == 200:
        assert response.status_code == 200
        assert body(response)["slug"] == SLUGS[level]
    else:
        assert_problem(response, expected)
        # 404 is indistinguishable from a service that does not exist.
        if expected == 404:
            unknown = callers[person].get("/api/v1/services/no-such-service")
            assert body(response)["detail"] == body(unknown)["detail"]


@pytest.mark.parametrize("person", list(WRITE))
@pytest.mark.parametrize("level", list(SLUGS))
def test_changing_a_service(callers, catalogue, person, level, nothing_changes):
    expected = WRITE[person][level]
    caller = callers[person]
    if expected == 200:
        response = caller.patch(f"/api/v1/services/{SLUGS[level]}", {"description": "New"})
        assert response.status_code == 200
        catalogue[level].refresh_from_db()
        assert catalogue[level].description == "New"
        return
    with nothing_changes():
        response = caller.patch(f"/api/v1/services/{SLUGS[level]}", {"description": "New"})
    assert_problem(response, expected)
    catalogue[level].refresh_from_db()
    assert catalogue[level].description == ""


@pytest.mark.parametrize("person", ["anonymous", "requester", "agent"])
def test_only_administrators_create_services_and_items(callers, person, nothing_changes):
    expected = 401 if person == "anonymous" else 403
    caller = callers[person]
    with nothing_changes():
        assert_problem(
            caller.post("/api/v1/services", {"name": "Shadow IT", "hashtag": "shadow"}),
            expected,
        )
        assert_problem(
            caller.post("/api/v1/configuration-items", {"service": "vpn", "name": "x"}),
            expected,
        )
        assert_problem(
            caller.post("/api/v1/services/remote-desktop/dependencies", {"depends_on": "vpn"}),
            expected,
        )
    assert not Service.objects.filter(hashtag="shadow").exists()


def visible_slugs(caller: ApiCaller) -> set[str]:
    return {s["slug"] for s in body(caller.get("/api/v1/services"))["items"]}


def test_lists_show_only_what_each_person_may_see(callers):
    assert visible_slugs(callers["requester"]) == {"vpn", "remote-desktop"}
    assert visible_slugs(callers["agent"]) == set(SLUGS.values())
    assert visible_slugs(callers["administrator"]) == set(SLUGS.values())
    assert_problem(callers["anonymous"].get("/api/v1/services"), 401)


def test_confidential_services_never_leak_through_the_graph(callers):
    requester = callers["requester"]
    affected = body(requester.get("/api/v1/services/vpn/affected"))
    assert [s["slug"] for s in affected["affected"]] == ["remote-desktop"]
    detail = body(requester.get("/api/v1/services/vpn"))
    assert [s["slug"] for s in detail["dependents"]] == ["remote-desktop"]
    assert "security" not in json.dumps(affected) + json.dumps(detail)
    # Staff see the whole picture.
    agent_affected = body(callers["agent"].get("/api/v1/services/vpn/affected"))
    assert {s["slug"] for s in agent_affected["affected"]} == {
        "remote-desktop",
        "security-operations",
    }
    assert_problem(requester.get("/api/v1/services/security-operations/affected"), 404)


def test_confidential_configuration_items_never_leak(callers, catalogue):
    secret_item = catalogue["confidential"].configuration_items.get()
    requester = callers["requester"]
    names = [i["name"] for i in body(requester.get("/api/v1/configuration-items"))["items"]]
    assert names == ["vpn-gw"]
    assert_problem(requester.get(f"/api/v1/configuration-items/{secret_item.pk}"), 404)
    filtered = requester.get("/api/v1/configuration-items?service=security-operations")
    assert body(filtered)["items"] == []
    agent_names = {
        i["name"] for i in body(callers["agent"].get("/api/v1/configuration-items"))["items"]
    }
    assert agent_names == {"vpn-gw", "siem-01"}


def test_a_requester_cannot_link_to_a_confidential_service_it_cannot_see(callers, nothing_changes):
    # Even the error does not confirm that the confidential service exists.
    requester = callers["requester"]
    with nothing_changes():
        response = requester.post(
            "/api/v1/configuration-items", {"service": "security-operations", "name": "probe"}
        )
    problem = assert_problem(response, 422)
    assert problem["detail"] == "There is no service 'security-operations'."
