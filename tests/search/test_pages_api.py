"""The search page, the header box, the synonyms page and GET /api/v1/search."""

from __future__ import annotations

from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.search.models import Synonym
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.search.conftest import make_article

URL = "/api/v1/search"


def caller(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'read')}"})


def test_the_page_shows_visible_results_with_chips_and_highlights(client, requester, world):
    client.force_login(requester)
    html = client.get("/search/?q=tunnel+drops+809").content.decode()
    assert world["public"].number in html
    assert world["confidential"].number not in html
    assert "gateway runbook" not in html and "gateway logs" not in html
    assert "<mark>tunnel</mark>" in html or "<mark>Tunnel</mark>" in html
    # Chips: counts of what the requester may see (2 articles, 1 post, 1 incident).
    assert 'aria-label="Filter by type"' in html
    assert 'Articles <span class="badge">2</span>' in html
    assert 'Incidents <span class="badge">1</span>' in html
    assert "Problems" not in html
    only = client.get("/search/?q=tunnel+drops+809&type=incident").content.decode()
    assert world["public"].number in only and "how to read error 809" not in only


def test_the_page_says_did_you_mean_and_never_errors(client, requester, world):
    client.force_login(requester)
    html = client.get("/search/?q=tunnle").content.decode()
    assert "Did you mean" in html and "tunnel" in html
    for query in ['"', "NEAR(", "tunnel*", "-x", "a:b", "(((", "%00"]:
        assert client.get("/search/", {"q": query}).status_code == 200
    bad = client.get("/search/?q=vpn&type=bogus&from=yesterday")
    assert bad.status_code == 200 and "Unknown type" in bad.content.decode()
    assert client.get("/search/?q=vpn&service=999999").status_code == 404


def test_the_header_has_a_search_box(client, requester):
    client.force_login(requester)
    html = client.get("/search/").content.decode()
    assert 'class="header-search"' in html and 'role="search"' in html
    assert '<label for="header-search-q"' in html
    assert client.get("/search/").status_code == 200
    Client().get("/search/?q=vpn")  # signed out: to the sign-in page
    assert Client().get("/search/?q=vpn").status_code == 302


def test_synonyms_page_for_administrators_only(client, requester, administrator, vpn_agent):
    client.force_login(requester)
    assert client.get("/search/synonyms/").status_code == 403
    assert client.post("/search/synonyms/", {"term": "x", "synonyms": "y"}).status_code == 403
    client.force_login(administrator)
    page = client.get("/search/synonyms/").content.decode()
    assert "remote access" in page  # seeded by the data migration
    assert Synonym.objects.count() >= 30
    response = client.post("/search/synonyms/", {"term": "Kiosk", "synonyms": "terminal, booth"})
    assert response.status_code == 302
    saved = Synonym.objects.get(term="kiosk")
    assert saved.synonyms == "terminal, booth" and saved.updated_by == administrator
    assert AuditEntry.objects.filter(action="search.synonym.save").exists()
    refused = client.post("/search/synonyms/", {"term": "kiosk", "synonyms": " , "})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.content.decode()
    # The new synonym applies at once.
    make_article(vpn_agent, "Booth setup for visitors", "Plug in the booth", "KB-900020")
    found = caller(administrator).get(f"{URL}?q=kiosk").json()
    assert [item["title"] for item in found["items"]] == ["Booth setup for visitors"]
    client.post(f"/search/synonyms/{saved.pk}/delete/")
    assert not Synonym.objects.filter(term="kiosk").exists()
    assert caller(administrator).get(f"{URL}?q=kiosk").json()["items"] == []


def test_api_returns_what_the_caller_may_see(requester, vpn_agent, vpn_service, world):
    body = caller(requester).get(f"{URL}?q=tunnel+drops+809").json()
    ids = {(item["type"], item["id"]) for item in body["items"]}
    assert ("incident", world["public"].pk) in ids
    assert ("incident", world["confidential"].pk) not in ids
    assert body["counts"] == {"article": 2, "post": 1, "incident": 1}
    assert body["total"] == 4 and body["did_you_mean"] is None
    assert all(
        "<mark>" in item["snippet_html"] or "<mark>" in item["title_html"] for item in body["items"]
    )
    staff = caller(vpn_agent).get(f"{URL}?q=tunnel+drops+809&type=incident,problem").json()
    assert {item["type"] for item in staff["items"]} == {"incident", "problem"}
    narrowed = (
        caller(requester)
        .get(f"{URL}?q=tunnel&service={vpn_service.pk}&from=2000-01-01&to=2999-12-31&limit=2")
        .json()
    )
    assert len(narrowed["items"]) == 2 and narrowed["next_offset"] == 2
    typo = caller(requester).get(f"{URL}?q=tunnle").json()
    assert typo["did_you_mean"] == "tunnel" and typo["items"]
    assert caller(requester).get(f"{URL}?q=%22NEAR(tunnel*").status_code == 200


def test_api_bad_input_is_a_problem(requester, security_service, db):
    api = caller(requester)
    assert_problem(api.get(f"{URL}?q="), 422)
    assert_problem(api.get(f"{URL}?q=+++"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&limit=0"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&limit=51"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&type=bogus"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&from=soon"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&from=2026-02-01&to=2026-01-01"), 422)
    assert_problem(api.get(f"{URL}?q=vpn&service={security_service.pk}"), 404)
    assert_problem(ApiCaller(Client(), {}).get(f"{URL}?q=vpn"), 401)
    assert api.get(f"{URL}?q=vpn").json()["items"] == []
