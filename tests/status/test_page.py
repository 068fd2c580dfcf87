"""The status page: what each tier sees, caching, the sign-in switch, history and maintenance."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.changes.choices import ChangeState
from hashdesk.incidents.choices import State, TimelineKind
from hashdesk.incidents.models import TimelineEntry
from hashdesk.status import hooks
from hashdesk.status import snapshot as snapshots
from hashdesk.status.history import load_history
from hashdesk.status.tiers import PUBLIC, STAFF
from tests.status.support import (
    committed,
    forget_pending_refresh,
    make_change,
    make_incident,
    make_service,
)

pytestmark = pytest.mark.django_db

PAGE = "/status/"


def _without_csrf(content: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content.decode())


@pytest.fixture
def catalogue() -> dict[str, Any]:
    access = catalog_actions.do_create_category(None, name="Access", position=1)
    apps = catalog_actions.do_create_category(None, name="Applications", position=2)
    sso = make_service("SSO", category=access)
    vpn = make_service("VPN", category=access, depends_on=[sso])
    desktop = make_service("Remote desktop", category=apps, depends_on=[vpn])
    payroll = make_service("Payroll", visibility="internal", category=apps)
    vault = make_service("Key vault", visibility="confidential", category=access)
    return {"sso": sso, "vpn": vpn, "desktop": desktop, "payroll": payroll, "vault": vault}


def test_anonymous_page_shows_public_services_grouped_by_category(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    make_incident(catalogue["sso"], requester, title="Sign-in fails for everyone", is_major=True)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Major outage" in html
    assert "Sign-in fails for everyone" in html
    assert "Depends on SSO (major outage)" in html
    # Categories in position order, public services only.
    assert html.index("Access") < html.index("Applications")
    assert "Remote desktop" in html
    assert "Payroll" not in html
    assert "Key vault" not in html
    # No app navigation for a visitor.
    assert 'id="primary-nav"' not in html
    assert response["Cache-Control"] == "public, max-age=15"
    # The state is a word and an icon, not only a colour.
    assert 'class="status-badge status-badge--degraded"' in html


def test_members_see_internal_services_and_staff_see_all(
    client: Client, catalogue: dict[str, Any], requester: User, vpn_agent: User
) -> None:
    client.force_login(requester)
    html = client.get(PAGE).content.decode()
    assert "Payroll" in html
    assert "Key vault" not in html
    client.force_login(vpn_agent)
    response = client.get(PAGE)
    assert "Key vault" in response.content.decode()
    assert response["Cache-Control"] == "private, no-cache"


def test_a_confidential_incident_never_changes_the_public_page(
    client: Client, catalogue: dict[str, Any], requester: User, vpn_agent: User
) -> None:
    make_incident(
        catalogue["vpn"], requester, title="Phishing wave", priority=1, visibility="confidential"
    )
    make_incident(catalogue["vault"], requester, title="Vault sealed", priority=1)
    public = client.get(PAGE).content.decode()
    assert "Phishing wave" not in public
    assert "Vault sealed" not in public
    assert "All systems operational" in public
    client.force_login(requester)
    assert "Phishing wave" not in client.get(PAGE).content.decode()
    client.force_login(vpn_agent)
    staff = client.get(PAGE).content.decode()
    assert "Phishing wave" in staff
    assert "Major outage" in staff


def test_an_outage_behind_a_hidden_service_shows_without_its_name(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    # A public service depending on the confidential vault, which has a public incident.
    mail = make_service("Mail", depends_on=[catalogue["vault"]])
    make_incident(catalogue["vault"], requester, title="Vault sealed", priority=2)
    html = client.get(PAGE).content.decode()
    assert "A service it depends on has a partial outage" in html
    assert "Key vault" not in html
    assert "Vault sealed" not in html
    item = next(s for s in snapshots.build_snapshot(PUBLIC)["services"] if s["slug"] == mail.slug)
    assert item["state"] == "degraded"


def test_public_updates_are_shown_and_work_notes_never(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    incident = make_incident(catalogue["vpn"], requester, title="VPN drops", priority=2)
    TimelineEntry.objects.create(
        incident=incident,
        kind=TimelineKind.PUBLIC_UPDATE,
        body="We are restarting the gateway.",
        body_html="<p>We are restarting the gateway.</p>",
        is_public=True,
    )
    TimelineEntry.objects.create(
        incident=incident,
        kind=TimelineKind.WORK_NOTE,
        body="Gateway admin password is on the wiki.",
        body_html="<p>Gateway admin password is on the wiki.</p>",
        is_public=False,
    )
    html = client.get(PAGE).content.decode()
    assert "We are restarting the gateway." in html
    assert "password" not in html
    assert "Partial outage" in html


def test_low_priority_incidents_do_not_change_the_state(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    make_incident(catalogue["vpn"], requester, title="Typo in the VPN guide", priority=4)
    html = client.get(PAGE).content.decode()
    assert "All systems operational" in html
    assert "Typo in the VPN guide" not in html


def test_scheduled_maintenance_lists_the_next_30_days_without_staff_details(
    client: Client, catalogue: dict[str, Any], change_manager: User, vpn_agent: User
) -> None:
    make_change(change_manager, [catalogue["vpn"]], summary="VPN concentrator firmware")
    make_change(change_manager, [catalogue["vpn"]], summary="Far away", starts_in=timedelta(40))
    make_change(change_manager, [catalogue["vault"]], summary="Vault rotation")
    make_change(
        change_manager, [catalogue["vpn"]], summary="Still planning", state=ChangeState.AUTHORISE
    )
    make_change(
        change_manager,
        [catalogue["sso"]],
        summary="SSO certificate swap",
        state=ChangeState.IMPLEMENTING,
        starts_in=timedelta(hours=-1),
        actual_start=timezone.now() - timedelta(minutes=30),
    )
    html = client.get(PAGE).content.decode()
    assert "VPN concentrator firmware" in html
    assert "Affects VPN" in html
    assert "SSO certificate swap" in html
    assert "SSO maintenance" in html  # VPN's note about its upstream
    assert "Far away" not in html
    assert "Vault rotation" not in html
    assert "Still planning" not in html
    assert "risk" not in html.lower().replace("status-", "")
    snapshot = snapshots.build_snapshot(PUBLIC)
    states = {item["slug"]: item["state"] for item in snapshot["services"]}
    assert states[catalogue["sso"].slug] == "maintenance"
    assert states[catalogue["vpn"].slug] == "operational"
    client.force_login(vpn_agent)
    assert "Vault rotation" in client.get(PAGE).content.decode()


def test_maintenance_window_is_shown_in_the_viewers_time_zone(
    client: Client, catalogue: dict[str, Any], change_manager: User, make_person: Any
) -> None:
    change = make_change(change_manager, [catalogue["vpn"]], summary="VPN concentrator firmware")
    madrid = make_person("madrid@example.com", time_zone="Europe/Madrid")
    client.force_login(madrid)
    html = client.get(PAGE).content.decode()
    assert change.planned_start is not None
    local = change.planned_start.astimezone(ZoneInfo("Europe/Madrid"))
    assert local.strftime("%H:%M") in html


def test_history_buckets_worst_state_per_day_and_uptime(
    catalogue: dict[str, Any], requester: User, change_manager: User, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Madrid"
    zone = ZoneInfo("Europe/Madrid")
    now = timezone.now()
    today = now.astimezone(zone).date()

    def at(days_ago: int, hour: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour), zone)

    vpn = catalogue["vpn"]
    # Ten days ago: a P3 all morning and a P2 for two hours: partial outage that day.
    make_incident(
        vpn,
        requester,
        priority=3,
        created_at=at(10, 8),
        resolved_at=at(10, 12),
        state=State.RESOLVED,
    )
    make_incident(
        vpn,
        requester,
        priority=2,
        created_at=at(10, 9),
        resolved_at=at(10, 11),
        state=State.RESOLVED,
    )
    # A major incident over midnight: two days of major outage.
    make_incident(
        vpn,
        requester,
        priority=4,
        is_major=True,
        created_at=at(5, 22),
        resolved_at=at(4, 2),
        state=State.CLOSED,
    )
    # Confidential, cancelled and long-gone incidents do not count for the public.
    make_incident(
        vpn,
        requester,
        priority=1,
        visibility="confidential",
        created_at=at(3, 8),
        resolved_at=at(3, 9),
        state=State.RESOLVED,
    )
    make_incident(vpn, requester, priority=1, created_at=at(2, 8), state=State.CANCELLED)
    make_incident(
        vpn,
        requester,
        priority=1,
        created_at=at(120, 8),
        resolved_at=at(100, 8),
        state=State.CLOSED,
    )
    make_change(
        change_manager,
        [vpn],
        state=ChangeState.CLOSED,
        starts_in=timedelta(-7),
        actual_start=at(7, 22),
        actual_end=at(7, 23),
    )

    span, histories = load_history(PUBLIC, [vpn.pk, catalogue["sso"].pk], now)
    assert span.first_day == today - timedelta(days=89)
    days = histories[vpn.pk].days
    assert days == {
        (today - timedelta(days=10)).isoformat(): "partial_outage",
        (today - timedelta(days=7)).isoformat(): "maintenance",
        (today - timedelta(days=5)).isoformat(): "major_outage",
        (today - timedelta(days=4)).isoformat(): "major_outage",
    }
    total = (now - span.start).total_seconds() / 60
    expected = round(100 * (1 - (2 * 60 + 4 * 60) / total), 2)
    assert histories[vpn.pk].uptime == expected
    assert histories[catalogue["sso"].pk].uptime == 100.0
    assert histories[catalogue["sso"].pk].days == {}
    _, staff = load_history(STAFF, [vpn.pk], now)
    assert staff[vpn.pk].days[(today - timedelta(days=3)).isoformat()] == "major_outage"


def test_history_bars_have_text_for_screen_readers(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    yesterday = timezone.now() - timedelta(days=1)
    make_incident(
        catalogue["sso"],
        requester,
        priority=2,
        created_at=yesterday,
        resolved_at=yesterday + timedelta(minutes=30),
        state=State.RESOLVED,
    )
    html = client.get(PAGE).content.decode()
    label = f"{yesterday.astimezone(ZoneInfo('UTC')).day} {yesterday:%b}: partial outage"
    assert f'<li class="status-bar--partial_outage" title="{label}"></li>' in html
    assert f"operational except {label}." in html
    assert "% uptime" in html
    assert html.count('<ol class="status-bars" aria-hidden="true">') == 3
    assert html.count("<li></li>") == 90 * 3 - 1


def test_warm_page_costs_at_most_two_queries(
    client: Client,
    catalogue: dict[str, Any],
    requester: User,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
) -> None:
    make_incident(catalogue["sso"], requester, is_major=True)
    # Cold: the snapshot's reads plus the database cache's writes.
    with django_assert_max_num_queries(40):
        cold = client.get(PAGE)
    with django_assert_max_num_queries(2):
        warm = client.get(PAGE)
    # The same page, but for the CSRF token of the subscribe form (masked anew each time).
    assert _without_csrf(warm.content) == _without_csrf(cold.content)
    with django_assert_max_num_queries(2):
        client.get(PAGE + "?fragment=services")


def test_snapshot_is_a_constant_number_of_queries(
    catalogue: dict[str, Any],
    requester: User,
    change_manager: User,
    django_assert_max_num_queries: Any,
) -> None:
    for service in catalogue.values():
        make_incident(service, requester, priority=2)
    make_change(change_manager, [catalogue["vpn"]])
    with django_assert_max_num_queries(9) as small:
        snapshots.build_snapshot(STAFF)
    for index in range(10):
        extra = make_service(f"Extra {index}", depends_on=[catalogue["sso"]])
        make_incident(extra, requester, priority=3)
        make_change(change_manager, [extra])
    with django_assert_max_num_queries(len(small.captured_queries)):
        snapshots.build_snapshot(STAFF)


def test_etag_answers_304_and_changes_with_the_page(
    client: Client,
    catalogue: dict[str, Any],
    requester: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = client.get(PAGE)
    etag = first["ETag"]
    again = client.get(PAGE, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    with committed(django_capture_on_commit_callbacks):
        make_incident(catalogue["vpn"], requester, title="VPN drops", priority=2)
    changed = client.get(PAGE, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "VPN drops" in changed.content.decode()


def test_a_write_bumps_the_generation_after_commit_only(
    catalogue: dict[str, Any], requester: User, django_capture_on_commit_callbacks: Any
) -> None:
    before = snapshots.generation()
    forget_pending_refresh()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_incident(catalogue["vpn"], requester, priority=2)
        make_incident(catalogue["sso"], requester, priority=2)
    assert snapshots.generation() == before
    # One refresh per transaction, however many rows it wrote.

    assert [c for c in callbacks if c is hooks._refresh_after_commit] == [
        hooks._refresh_after_commit
    ]
    for callback in callbacks:
        callback()
    assert snapshots.generation() > before


def test_sign_in_only_switch(
    client: Client, catalogue: dict[str, Any], requester: User, settings: Any
) -> None:
    settings.STATUS_PAGE_PUBLIC = False
    for path in (PAGE, "/status/summary.json", f"/status/{catalogue['vpn'].slug}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign-in"))
    assert client.get("/status/feed.rss").status_code == 404
    assert client.get("/api/v1/status").status_code == 401
    client.force_login(requester)
    assert client.get(PAGE).status_code == 200
    settings.STATUS_PAGE_PUBLIC = True
    client.logout()
    assert client.get(PAGE).status_code == 200


def test_service_page_shows_history_and_recent_incidents(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    make_incident(
        catalogue["vpn"],
        requester,
        title="VPN slow last week",
        priority=3,
        created_at=timezone.now() - timedelta(days=7),
        resolved_at=timezone.now() - timedelta(days=6),
        state=State.RESOLVED,
    )
    make_incident(catalogue["vpn"], requester, title="VPN drops now", priority=2)
    make_incident(
        catalogue["vpn"], requester, title="Internal VPN note", priority=2, visibility="internal"
    )
    response = client.get(f"/status/{catalogue['vpn'].slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "VPN slow last week" in html
    assert "VPN drops now" in html
    assert "Internal VPN note" not in html
    assert "Partial outage" in html
    assert f"/status/{catalogue['vpn'].slug}/feed.rss" in html
    assert client.get(f"/status/{catalogue['vault'].slug}/").status_code == 404
    assert client.get(f"/status/{catalogue['payroll'].slug}/").status_code == 404
    assert client.get("/status/no-such-service/").status_code == 404


def test_summary_json_and_api_answer_the_same_snapshot(
    client: Client, catalogue: dict[str, Any], requester: User
) -> None:
    make_incident(catalogue["sso"], requester, title="Sign-in fails", is_major=True)
    summary = client.get("/status/summary.json").json()
    api = client.get("/api/v1/status").json()
    assert summary["digest"] == api["digest"]
    assert summary["tier"] == "public"
    assert summary["overall"]["state"] == "major_outage"
    assert summary["overall"]["headline"] == "Major outage"
    services = {item["slug"]: item for item in api["services"]}
    assert services[catalogue["vpn"].slug]["reasons"] == ["Depends on SSO (major outage)"]
    assert catalogue["vault"].slug not in services
    assert [incident["title"] for incident in api["incidents"]] == ["Sign-in fails"]
    client.force_login(requester)
    assert client.get("/api/v1/status").json()["tier"] == "members"


def test_the_navigation_links_the_page_for_signed_in_people(
    client: Client, requester: User
) -> None:
    client.force_login(requester)
    html = client.get("/").content.decode()
    assert 'href="/status/"' in html
