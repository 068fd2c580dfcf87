"""A NUL character anywhere in a request is invalid input, never a server error.

PostgreSQL cannot store or compare text holding NUL (SQLite can), so without these checks the
same request would be a 500 on one database and accepted on the other.
"""

from __future__ import annotations

import pytest

from hashdesk.incidents.models import Incident
from hashdesk.wall.models import Post
from tests.api.support import assert_problem


@pytest.fixture
def requester_api(as_token, requester):
    return as_token(requester)


def test_nul_in_a_body_is_422_and_nothing_is_written(requester_api, vpn_service):
    assert_problem(
        requester_api.post("/api/v1/incidents", {"title": "VPN\x00", "service": "vpn"}),
        422,
        "invalid",
    )
    assert_problem(
        requester_api.post("/api/v1/incidents", {"title": "VPN", "service": "vp\x00n"}),
        422,
        "invalid",
    )
    assert_problem(requester_api.post("/api/v1/wall/posts", {"body": "a\x00b"}), 422, "invalid")
    assert not Incident.objects.exists() and not Post.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents?q=vpn%00",
        "/api/v1/wall/tags/vp%00n/",
        "/api/v1/wall/timelines/tags/vp%00n",
        "/wall/tags/vp%00n/",
        "/incidents/?q=%00",
    ],
)
def test_nul_in_the_address_is_422(requester_api, path):
    response = requester_api.get(path)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
