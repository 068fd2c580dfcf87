"""Sentiment: the lexicon method, the daily aggregation per service, page, CSV and API
(insights/sentiment.py, candidate_views.py, api_candidates.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.chat.models import Message, Room
from hashdesk.insights.models import SentimentDaily
from hashdesk.insights.sentiment import aggregate_sentiment, score_text
from hashdesk.wall.models import Post
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Thanks, works great now", 1),
        ("Danke, funktioniert wieder super", 1),
        ("VPN is broken", -1),
        ("VPN not working", -1),
        ("Outlook funktioniert nicht", -1),
        ("no problem, all fine", 1),
        ("not bad", 1),
        ("Printer on floor 3", 0),
    ],
)
def test_polarity(text: str, sign: int) -> None:
    score = score_text(text).score
    assert -1.0 <= score <= 1.0
    if sign > 0:
        assert score > 0.2
    elif sign < 0:
        assert score < -0.2
    else:
        assert score == 0.0


def test_intensifiers_strengthen_and_frustration_marks() -> None:
    assert score_text("very slow").score < score_text("slow").score
    calm = score_text("The VPN drops")
    angry = score_text("The VPN drops AGAIN!!! Third time this week, STILL BROKEN")
    assert angry.score < calm.score
    assert angry.frustrated and angry.markers >= 3
    assert not calm.frustrated
    assert score_text("schon wieder kaputt").frustrated
    # A lone acronym is not shouting.
    assert score_text("VPN is fine").markers == 0


def _post(author: User, service: Service, body: str, when: Any) -> Post:
    return Post.objects.create(author=author, service=service, body=body, created_at=when)


@pytest.mark.django_db
def test_daily_aggregation_per_service_from_posts_and_chats(
    requester: User, other_requester: User, vpn_service: Service, sso_service: Service
) -> None:
    now = timezone.now()
    _post(requester, vpn_service, "VPN broken again!!!", now)
    _post(other_requester, vpn_service, "VPN works great, thanks", now)
    _post(requester, vpn_service, "VPN terrible", now - timedelta(days=2))
    _post(requester, sso_service, "SSO is fine", now)
    _post(requester, sso_service, "ancient", now - timedelta(days=40))
    room, _ = Room.objects.get_or_create(
        service=vpn_service, defaults={"kind": "service", "name": "VPN"}
    )
    Message.objects.create(room=room, author=requester, body="still not working", created_at=now)

    assert aggregate_sentiment(days=30, now=now) == 3

    today = SentimentDaily.objects.get(service=vpn_service, day=timezone.localdate(now))
    assert today.texts == 3 and today.positive == 1 and today.negative == 2
    assert today.frustrated == 2
    assert -1 <= today.score < 0
    assert SentimentDaily.objects.filter(service=sso_service).count() == 1
    # Idempotent.
    assert aggregate_sentiment(days=30, now=now) == 3
    assert SentimentDaily.objects.count() == 3


def _client(person: User) -> Client:
    client = Client()
    assert client.login(email=person.email, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_page_csv_and_api(
    requester: User, vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    today = timezone.localdate()
    SentimentDaily.objects.create(
        service=vpn_service, day=today, texts=4, positive=1, negative=3, frustrated=2, score=-0.5
    )
    SentimentDaily.objects.create(
        service=sso_service, day=today - timedelta(days=3), texts=2, positive=2, score=0.6
    )
    client = _client(vpn_agent)

    page = client.get("/insights/sentiment/")
    body = page.content.decode()
    assert page.status_code == 200
    assert body.index(">VPN<") < body.index(">Single sign-on<")  # most negative first
    assert 'role="img"' in body and "Export CSV" in body

    exported = client.get("/insights/sentiment.csv?days=7")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["service", "day", "texts", "positive", "negative", "frustrated", "score"]
    assert ["vpn", today.isoformat(), "4", "1", "3", "2", "-0.5"] in rows

    api = client.get("/api/v1/insights/sentiment?service=vpn&days=7").json()
    assert [s["service"] for s in api] == ["vpn"]
    assert api[0]["days"][0]["frustrated"] == 2
    assert client.get("/api/v1/insights/sentiment?days=0").status_code == 422
    assert client.get("/api/v1/insights/sentiment?service=nope").status_code == 404

    requester_client = _client(requester)
    assert requester_client.get("/insights/sentiment/").status_code == 404
    assert requester_client.get("/api/v1/insights/sentiment").json() == []
