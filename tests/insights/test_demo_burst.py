"""The demo's story 2: a burst of Wi-Fi reports waiting as a probable incident."""

from __future__ import annotations

import pytest

from hashdesk.demo.bursts import REPORTS, load_burst
from hashdesk.demo.loader import load_demo
from hashdesk.insights.choices import ProbableState
from hashdesk.insights.models import ProbableIncident
from hashdesk.wall.models import Post

pytestmark = pytest.mark.django_db


def test_the_demo_burst_is_raised_once_as_a_probable_incident() -> None:
    load_demo(incidents=0, posts=0)

    created = load_burst()

    assert created == {"burst posts": len(REPORTS), "probable incidents": 1}
    probable = ProbableIncident.objects.get()
    assert probable.state == ProbableState.OPEN
    assert probable.service is not None and probable.service.hashtag == "wifi-b"
    assert probable.items.count() == len(REPORTS)
    authors = set(Post.objects.values_list("author__site", flat=True))
    assert authors == {"Building B"}
    # A second run adds nothing.
    assert load_burst() == {}
    assert Post.objects.count() == len(REPORTS)
