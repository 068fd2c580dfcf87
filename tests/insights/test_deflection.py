"""Deflection: "This solved it" records a deflection (no ticket), once a day per person and
suggestion; verified like the wall's reputation; impressions counted once per typing session;
the rate per service and per article on the staff page, as CSV, and in the API."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.template import Context, Template
from django.test import Client, TestCase
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from hashdesk.insights import deflection
from hashdesk.insights.choices import DeflectionState
from hashdesk.insights.models import Deflection, SuggestionImpression
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article
from tests.api.support import ApiCaller, assert_problem, raw_token

committed = partial(TestCase.captureOnCommitCallbacks, execute=True)
TYPED = "VPN tunnel drops every ten minutes, my password=Hunter2secret"


def _article(owner, service, title, visibility=ArticleVisibility.PUBLIC, number="KB-910001"):
    with committed():
        article = Article.objects.create(
            title=title,
            body="Reconnect with the TCP profile.",
            number=number,
            owner=owner,
            state=ArticleState.PUBLISHED,
            visibility=visibility,
        )
        article.services.add(service)
    return article


@pytest.fixture
def article(vpn_agent, vpn_service):
    return _article(vpn_agent, vpn_service, "VPN tunnel drops every ten minutes")


def _record(person, article, service, **extra):
    return deflection.do_record_deflection(
        person,
        context=extra.pop("context", "incident"),
        kind=extra.pop("kind", "article"),
        object_id=article.pk,
        service=service,
        text=extra.pop("text", TYPED),
        **extra,
    )


def test_solved_records_a_deflection_and_no_ticket(requester, article, vpn_service, capture_events):
    incidents = Incident.objects.count()
    with capture_events() as events:
        recorded = _record(requester, article, vpn_service)
    assert recorded.created
    found = Deflection.objects.get()
    assert (found.person, found.context, found.kind, found.object_id) == (
        requester,
        "incident",
        "article",
        article.pk,
    )
    assert found.article == article and found.service == vpn_service
    assert found.state == DeflectionState.PENDING
    assert found.verify_after - found.created_at == timedelta(hours=48)
    # Typed text: kept redacted.
    assert "Hunter2secret" not in found.text and "VPN tunnel drops" in found.text
    assert Incident.objects.count() == incidents
    assert AuditEntry.objects.filter(action="insights.deflection_recorded").count() == 1
    [event] = [e for e in events if e.type == "deflection"]
    assert event.payload["deflection"]["object_id"] == article.pk
    assert "text" not in event.payload["deflection"]


def test_once_per_person_suggestion_and_day(requester, other_requester, article, vpn_service):
    assert _record(requester, article, vpn_service).created
    again = _record(requester, article, vpn_service, context="chat")
    assert not again.created and again.deflection.context == "incident"
    assert _record(other_requester, article, vpn_service).created
    tomorrow = timezone.now() + timedelta(days=1)
    assert _record(requester, article, vpn_service, now=tomorrow).created
    assert Deflection.objects.count() == 3
    assert AuditEntry.objects.filter(action="insights.deflection_recorded").count() == 3


def test_text_is_truncated_and_the_service_defaults_to_the_articles(requester, article):
    recorded = _record(requester, article, None, text="word " * 400)
    assert len(recorded.deflection.text) <= deflection.TEXT_MAX
    assert recorded.deflection.service_id == article.services.get().pk


def test_bad_input(requester, vpn_agent, vpn_service, security_service):
    internal = _article(
        vpn_agent, vpn_service, "Gateway runbook", ArticleVisibility.INTERNAL, "KB-910009"
    )
    with pytest.raises(NotFound):
        _record(requester, internal, vpn_service)
    public = _article(vpn_agent, vpn_service, "Public tips", number="KB-910010")
    with pytest.raises(ValidationFailed):
        _record(requester, public, vpn_service, context="nowhere")
    with pytest.raises(ValidationFailed):
        _record(requester, public, vpn_service, kind="chat")
    with pytest.raises(NotFound):
        _record(requester, public, security_service)
    assert not Deflection.objects.exists()


def _ticket(person, service, when):
    incident = incident_actions.do_create_incident(
        person, title="VPN still drops", description="", service=service
    )
    Incident.objects.filter(pk=incident.pk).update(created_at=when)
    return incident


def test_a_ticket_on_the_service_within_48h_means_not_confirmed(
    requester, other_requester, article, vpn_service, sso_service
):
    now = timezone.now()
    raised = _record(requester, article, vpn_service, now=now).deflection
    other = _record(other_requester, article, vpn_service, now=now).deflection
    # A ticket on another service does not count against the deflection.
    _ticket(other_requester, sso_service, now + timedelta(hours=2))
    incident = _ticket(requester, vpn_service, now + timedelta(hours=3))

    # Before the window has passed: the ticket already makes it not confirmed.
    assert deflection.verify_all(now + timedelta(hours=4)) == 1
    raised.refresh_from_db()
    other.refresh_from_db()
    assert raised.state == DeflectionState.NOT_CONFIRMED
    assert raised.void_reason == f"raised {incident.number}"
    assert other.state == DeflectionState.PENDING

    assert deflection.verify_all(now + timedelta(hours=49)) == 1
    other.refresh_from_db()
    assert other.state == DeflectionState.CONFIRMED
    assert AuditEntry.objects.filter(action="insights.deflection_confirmed").count() == 1
    assert AuditEntry.objects.filter(action="insights.deflection_not_confirmed").count() == 1
    assert deflection.verify_all(now + timedelta(hours=50)) == 0


def test_verification_queries_do_not_grow(
    requester, make_person, vpn_agent, vpn_service, query_count
):
    articles = [
        _article(vpn_agent, vpn_service, f"Tip {n}", number=f"KB-92000{n}") for n in range(4)
    ]
    now = timezone.now()
    for item in articles[:1]:
        _record(requester, item, vpn_service, now=now)
    with query_count() as few:
        deflection.verify_deflections(now + timedelta(hours=49))
    for item in articles[1:]:
        _record(requester, item, vpn_service, now=now)
    with query_count() as many:
        deflection.verify_deflections(now + timedelta(hours=49))
    assert len(many) == len(few)


def test_impressions_count_sessions_once(client, requester, article, vpn_service, query_count):
    client.force_login(requester)
    ask = {"text": "VPN tunnel drops every ten minutes", "context": "incident"}
    ask["service"] = str(vpn_service.pk)
    first = client.get("/insights/similar/", ask)
    html = first.content.decode()
    assert "This solved it for me" in html and f'data-id="{article.pk}"' in html
    assert 'data-solved-url="/insights/deflection/solved/"' in html
    client.get("/insights/similar/", {**ask, "text": ask["text"] + " again"})
    sessions = SuggestionImpression.objects.get(kind="")
    assert (sessions.context, sessions.service_id, sessions.shown) == (
        "incident",
        vpn_service.pk,
        1,
    )
    shown = SuggestionImpression.objects.get(kind="article")
    assert (shown.object_id, shown.shown) == (article.pk, 1)
    # Within the session, counting costs no write.
    with query_count() as queries:
        counted = deflection.count_impressions(requester, "incident", vpn_service, [("post", 1)])
    assert not counted
    assert not any("insights_suggestionimpression" in q["sql"] for q in queries.captured_queries)
    # Nothing shown, nothing counted; triage is not a deflection context.
    client.get("/insights/similar/", {"text": "zzzz qqqq", "context": "chat"})
    client.get("/insights/similar/", {**ask, "context": "triage"})
    assert SuggestionImpression.objects.filter(kind="").count() == 1


def test_the_solved_endpoint(client, requester, article, vpn_service):
    client.force_login(requester)
    data = {
        "context": "incident",
        "kind": "article",
        "id": str(article.pk),
        "service": str(vpn_service.pk),
        "text": TYPED,
    }
    url = "/insights/deflection/solved/"
    answer = client.post(url, data, HTTP_ACCEPT="application/json")
    assert answer.status_code == 201 and answer.json()["recorded"]
    assert "Nothing was filed" in answer.json()["message"]
    assert client.post(url, data, HTTP_ACCEPT="application/json").status_code == 200
    assert Deflection.objects.count() == 1 and not Incident.objects.exists()
    missing = client.post(url, {**data, "id": "999999"}, HTTP_ACCEPT="application/json")
    assert missing.status_code == 404
    assert client.post(url, {**data, "id": "x"}, HTTP_ACCEPT="application/json").status_code == 422
    # Without JavaScript: a redirect with a message.
    back = client.post(url, {**data, "next": "/incidents/new/"})
    assert back.status_code == 302 and back["Location"] == "/incidents/new/"
    assert client.post(url, {**data, "next": "https://evil.test/"})["Location"] == "/"


def _seen(service, context, count, article=None):
    day = timezone.localdate()
    SuggestionImpression.objects.create(
        day=day, context=context, service_id=service.pk, kind="", object_id=0, shown=count
    )
    if article is not None:
        SuggestionImpression.objects.create(
            day=day,
            context=context,
            service_id=service.pk,
            kind="article",
            object_id=article.pk,
            shown=count,
        )


def test_the_report(
    client, requester, other_requester, make_person, vpn_agent, article, vpn_service, sso_service
):
    _seen(vpn_service, "incident", 4, article)
    _seen(sso_service, "composer", 2)
    _record(requester, article, vpn_service)
    _record(other_requester, article, vpn_service)
    voided = _record(make_person("third@example.test"), article, vpn_service).deflection
    Deflection.objects.filter(pk=voided.pk).update(state=DeflectionState.NOT_CONFIRMED)

    today = timezone.localdate()
    found = deflection.deflection_report(vpn_agent, today - timedelta(days=1), today)
    vpn = next(row for row in found.services if row.key == vpn_service.pk)
    assert (vpn.sessions, vpn.deflections, vpn.not_confirmed, vpn.rate) == (4, 2, 1, 0.5)
    assert vpn.by_context == {"incident": 2}
    sso = next(row for row in found.services if row.key == sso_service.pk)
    assert (sso.sessions, sso.deflections, sso.rate) == (2, 0, 0.0)
    [by_article] = found.articles
    assert (by_article.key, by_article.deflections, by_article.sessions) == (article.pk, 2, 4)
    assert (found.total.sessions, found.total.deflections) == (6, 2)

    client.force_login(vpn_agent)
    page = client.get("/insights/deflection/")
    html = page.content.decode()
    assert page.status_code == 200
    assert vpn_service.name in html and article.title in html and "50.0%" in html
    assert 'role="img"' in html and "<caption" in html
    csv_text = client.get("/insights/deflection/export.csv").content.decode()
    assert f"service,{vpn_service.pk},{vpn_service.name},4,2,2,1,0.5000" in csv_text
    assert f"article,{article.pk}," in csv_text
    bad = client.get("/insights/deflection/", {"start": "2026-13-01"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.content.decode()

    client.force_login(requester)
    assert client.get("/insights/deflection/").status_code == 404
    assert client.get("/insights/deflection/export.csv").status_code == 404


def test_requesters_see_only_their_own_deflections(requester, other_requester, article):
    mine = _record(requester, article, None).deflection
    _record(other_requester, article, None)
    assert list(visible_to(requester, Deflection.objects.all())) == [mine]
    assert not visible_to(requester, SuggestionImpression.objects.all()).exists()


def test_prevented_tickets_tag(requester, other_requester, article):
    template = Template("{% load deflection %}{% prevented_tickets article %}")
    assert template.render(Context({"article": article})).strip() == ""
    _record(requester, article, None)
    assert "Prevented 1 ticket<" in template.render(Context({"article": article}))
    _record(other_requester, article, None)
    assert "Prevented 2 tickets" in template.render(Context({"article": article}))


def _caller(person, scope="write"):
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, scope)}"})


def test_the_api(requester, vpn_agent, article, vpn_service):
    api = _caller(requester)
    body = {"context": "chat", "kind": "known_error", "id": article.pk, "text": TYPED}
    created = api.post("/api/v1/insights/deflections", body)
    assert created.status_code == 201, created.content
    assert created.json()["article_id"] == article.pk
    assert api.post("/api/v1/insights/deflections", body).status_code == 200
    assert_problem(api.post("/api/v1/insights/deflections", {**body, "kind": "bogus"}), 422)
    assert_problem(api.post("/api/v1/insights/deflections", {**body, "id": 999999}), 404)
    assert_problem(api.get("/api/v1/insights/deflection"), 403)

    staff = _caller(vpn_agent, "read")
    report = staff.get("/api/v1/insights/deflection").json()
    assert report["total"]["deflections"] == 1
    assert report["articles"][0]["id"] == article.pk
    assert_problem(staff.get("/api/v1/insights/deflection?start=2026-01-10&end=2026-01-01"), 422)
    assert_problem(ApiCaller(Client(), {}).get("/api/v1/insights/deflection"), 401)


def test_fixes_are_never_crowded_out_of_the_panel(client, requester, vpn_agent, vpn_service):
    """Many matching incidents the requester may not see (internal by default) rank above the
    article: the panel still offers the article, with "This solved it for me"."""
    with committed():
        for _ in range(110):
            incident_actions.do_create_incident(
                vpn_agent,
                title="VPN tunnel drops every ten minutes",
                description="VPN tunnel drops every ten minutes",
                service=vpn_service,
            )
    article = _article(vpn_agent, vpn_service, "VPN tunnel drops: what to try")
    client.force_login(requester)
    html = client.get(
        "/insights/similar/",
        {"text": "VPN tunnel drops every ten minutes", "context": "incident"},
    ).content.decode()
    assert article.title in html and f'data-id="{article.pk}"' in html
