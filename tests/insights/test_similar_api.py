"""GET /api/v1/insights/similar: what the caller may see, and problem details for bad input."""

from __future__ import annotations

from functools import partial

from django.test import Client, TestCase

from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from tests.api.support import ApiCaller, assert_problem, raw_token

URL = "/api/v1/insights/similar"
# Records reach the index when their transaction commits.
committed = partial(TestCase.captureOnCommitCallbacks, execute=True)


def caller(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'read')}"})


def _incident(actor, service, title, visibility):
    with committed():
        incident = incident_actions.do_create_incident(
            actor, title=title, description="", service=service
        )
    Incident.objects.filter(pk=incident.pk).update(visibility=visibility)
    return incident


def test_finds_what_the_caller_may_see(requester, other_requester, vpn_agent, vpn_service):
    public = _incident(other_requester, vpn_service, "Outlook crashes on start", "public")
    secret = _incident(vpn_agent, vpn_service, "Outlook crashes on the board", "confidential")
    items = caller(requester).get(f"{URL}?text=outlook+crashing&service={vpn_service.pk}").json()
    assert [(item["kind"], item["id"]) for item in items["items"]] == [("incident", public.pk)]
    assert items["items"][0]["url"].endswith(f"/{public.number}/")
    staff = caller(vpn_agent).get(f"{URL}?text=outlook+crashing&kinds=incident,problem").json()
    assert {item["id"] for item in staff["items"]} == {public.pk, secret.pk}


def test_bad_input_is_a_problem(requester, security_service):
    api = caller(requester)
    assert_problem(api.get(f"{URL}?text="), 422)
    assert_problem(api.get(f"{URL}?text=+++"), 422)
    assert_problem(api.get(f"{URL}?text=vpn&limit=0"), 422)
    assert_problem(api.get(f"{URL}?text=vpn&limit=51"), 422)
    assert_problem(api.get(f"{URL}?text=vpn&kinds=incident,bogus"), 422)
    # A confidential service the requester may not know of.
    assert_problem(api.get(f"{URL}?text=vpn&service={security_service.pk}"), 404)
    assert api.get(f"{URL}?text=vpn").json() == {"items": []}


def test_needs_a_signed_in_caller(db):
    assert_problem(ApiCaller(Client(), {}).get(f"{URL}?text=vpn"), 401)
