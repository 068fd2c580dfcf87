"""Routing suggestions: learned from resolved incidents, stored without pickle, offered to staff
through the API and the incident pages."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.incidents.actions import do_create_incident
from hashdesk.incidents.choices import Category, State
from hashdesk.incidents.models import Incident
from hashdesk.insights import routing
from hashdesk.insights.models import RoutingModel
from hashdesk.insights.routing_tasks import retrain_routing
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db

NETWORK_TEXTS = [
    "VPN tunnel drops every few minutes",
    "Cannot connect to the VPN from home",
    "VPN client says the gateway is unreachable",
    "Wifi access point on floor 3 offline",
    "Router port flapping in the branch office",
    "VPN very slow since this morning",
]
IDENTITY_TEXTS = [
    "Password reset link does not arrive",
    "Account locked after too many sign-in attempts",
    "Single sign-on loops back to the login page",
    "MFA code rejected when signing in",
    "Password expired and cannot be changed",
    "Login to the portal fails with an SSO error",
]


@pytest.fixture(autouse=True)
def _fresh_model_cache() -> Any:
    routing.forget_cached_models()
    yield
    routing.forget_cached_models()


@pytest.fixture
def identity_team(db: Any) -> Team:
    return account_actions.do_create_team(None, name="Identity")


def resolved(reporter: User, service: Service, title: str, team: Team, category: str) -> Incident:
    incident = do_create_incident(
        reporter, title=title, description=f"{title}. Please help.", service=service
    )
    Incident.objects.filter(pk=incident.pk).update(
        state=State.RESOLVED,
        assignment_group=team,
        category=category,
        resolved_at=timezone.now(),
    )
    return incident


@pytest.fixture
def history(
    requester: User,
    vpn_service: Service,
    sso_service: Service,
    network_team: Team,
    identity_team: Team,
) -> None:
    for round_ in range(2):
        for text in NETWORK_TEXTS:
            resolved(requester, vpn_service, f"{text} ({round_})", network_team, Category.NETWORK)
        for text in IDENTITY_TEXTS:
            resolved(requester, sso_service, f"{text} ({round_})", identity_team, Category.ACCESS)


def test_training_learns_groups_from_resolved_incidents(
    history: None, network_team: Team, identity_team: Team, requester: User, vpn_service: Service
) -> None:
    still_open = do_create_incident(
        requester, title="VPN drops", description="", service=vpn_service
    )

    model = routing.train("assignment_group")

    assert model is not None and model.is_active
    assert model.examples == 24  # resolved ones only: the open incident is not history
    assert still_open.assignment_group is None
    assert {"accuracy", "macro_f1", "temperature", "labels"} <= set(model.metrics)
    vpn = routing.suggest("The VPN keeps dropping the tunnel")
    sso = routing.suggest("My password reset does not work, account locked")
    assert vpn.best_group is not None and vpn.best_group.team == network_team
    assert sso.best_group is not None and sso.best_group.team == identity_team
    assert vpn.best_group.confidence >= routing.CONFIDENCE_FLOOR


def test_categories_are_learned_too(history: None) -> None:
    assert routing.train("category") is not None

    found = routing.suggest("VPN gateway unreachable from home")

    assert found.category is not None
    assert (found.category.value, found.category.label) == ("network", "Network")


def test_the_payload_is_arrays_without_pickle(history: None) -> None:
    model = routing.train("assignment_group")
    assert model is not None

    with np.load(io.BytesIO(bytes(model.payload)), allow_pickle=False) as arrays:
        assert set(arrays.files) == {"meta", "classes", "columns", "idf", "coef", "intercept"}
        assert all(arrays[name].dtype != object for name in arrays.files)
        assert json.loads(str(arrays["meta"]))["format"] == routing.FORMAT
    routing.forget_cached_models()
    reloaded = routing.active_model("assignment_group")
    assert reloaded is not None
    assert reloaded[1].predict(["VPN tunnel drops"]) == [
        str(
            Incident.objects.filter(title__startswith="VPN tunnel").values_list(
                "assignment_group_id", flat=True
            )[0]
        )
    ]


def test_retraining_replaces_the_active_model(history: None) -> None:
    first = routing.train("assignment_group")
    second = routing.train("assignment_group")
    third = routing.train("assignment_group")
    assert first is not None and second is not None and third is not None

    active = RoutingModel.objects.filter(target="assignment_group", is_active=True)
    assert list(active.values_list("id", flat=True)) == [third.pk]
    # One earlier model is kept, older ones are removed.
    assert set(RoutingModel.objects.values_list("id", flat=True)) == {second.pk, third.pk}


def test_too_little_history_trains_nothing(
    requester: User, vpn_service: Service, network_team: Team
) -> None:
    resolved(requester, vpn_service, "VPN drops", network_team, Category.NETWORK)

    assert routing.train("assignment_group") is None
    assert routing.suggest("VPN drops").groups == []
    with pytest.raises(ValueError, match="Unknown routing target"):
        routing.train("priority")


def test_only_existing_teams_above_the_floor_are_suggested(
    network_team: Team, identity_team: Team
) -> None:
    gone = 999_999
    texts = NETWORK_TEXTS + IDENTITY_TEXTS + ["Printer jams on every page"] * 6
    labels = [str(network_team.pk)] * 6 + [str(identity_team.pk)] * 6 + [str(gone)] * 6
    model = routing.RoutingClassifier().fit(texts, labels)
    RoutingModel.objects.create(
        target="assignment_group", examples=len(texts), payload=model.to_bytes()
    )

    printer = routing.suggest("Printer jams on every page")
    vague = routing.suggest("hello")

    assert [g.team.pk for g in printer.groups if g.team.pk == gone] == []
    assert all(g.confidence >= routing.CONFIDENCE_FLOOR for g in printer.groups + vague.groups)


def test_a_suggestion_takes_three_queries_once_loaded(
    history: None, django_assert_num_queries: Any
) -> None:
    routing.train("assignment_group")
    routing.train("category")

    # The active group model, its teams, the active category model.
    with django_assert_num_queries(3):
        found = routing.suggest("VPN tunnel drops", service_id=None)
    assert found.best_group is not None


def test_the_nightly_task_trains_both_targets(history: None) -> None:
    assert retrain_routing.call_local() == 2
    assert set(RoutingModel.objects.values_list("target", flat=True)) == {
        "assignment_group",
        "category",
    }


# --- API ------------------------------------------------------------------------------------


def api(person: User) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'read')}"})


def test_staff_get_suggestions_through_the_api(
    history: None, vpn_agent: User, network_team: Team, vpn_service: Service
) -> None:
    routing.train("assignment_group")

    response = api(vpn_agent).get(
        "/api/v1/insights/routing?text=VPN+tunnel+drops&service=" + vpn_service.slug
    )

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["assignment_groups"][0]["slug"] == network_team.slug
    assert 0 < body["assignment_groups"][0]["confidence"] <= 1
    assert body["model"]["examples"] == 24
    assert body["category"] is None  # no category model yet


def test_requesters_are_refused(history: None, requester: User) -> None:
    assert_problem(api(requester).get("/api/v1/insights/routing?text=VPN"), 403)


def test_bad_input_is_a_problem(vpn_agent: User) -> None:
    caller = api(vpn_agent)

    empty = assert_problem(caller.get("/api/v1/insights/routing?text=+++"), 422)
    missing = assert_problem(caller.get("/api/v1/insights/routing"), 422)
    unknown = assert_problem(caller.get("/api/v1/insights/routing?text=vpn&service=nope"), 422)
    bad_reporter = assert_problem(caller.get("/api/v1/insights/routing?text=vpn&reporter=x"), 422)

    assert empty["errors"][0]["field"] == "text"
    assert missing["errors"][0]["field"] == "text"
    assert unknown["errors"][0]["field"] == "service"
    assert bad_reporter["errors"][0]["field"] == "reporter"


def test_without_a_model_the_api_suggests_nothing(vpn_agent: User) -> None:
    body = json.loads(api(vpn_agent).get("/api/v1/insights/routing?text=vpn").content)

    assert body == {"assignment_groups": [], "category": None, "model": None}


# --- The incident page ----------------------------------------------------------------------


def test_agents_see_the_suggested_group_and_apply_it_in_one_click(
    history: None,
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    network_team: Team,
) -> None:
    routing.train("assignment_group")
    new = do_create_incident(
        requester, title="VPN tunnel drops again", description="", service=vpn_service
    )
    agent, reporter = Client(), Client()
    agent.force_login(vpn_agent)
    reporter.force_login(requester)
    page_url = reverse("incidents:detail", args=[new.number])

    page = agent.get(page_url).content.decode()
    hidden = reporter.get(page_url).content.decode()
    applied = agent.post(
        reverse("incidents:assign", args=[new.number]),
        {"assign-group": network_team.slug, "assign-version": new.version},
    )

    assert "Suggested: <strong>Network</strong>" in page
    assert f'name="assign-group" value="{network_team.slug}"' in page
    assert "Suggested:" not in hidden
    assert applied.status_code == 302
    new.refresh_from_db()
    assert new.assignment_group == network_team
    assert "Suggested:" not in agent.get(page_url).content.decode()


def test_an_unreadable_model_suggests_nothing_instead_of_failing(
    requester: User, vpn_service: Service
) -> None:
    RoutingModel.objects.create(target="assignment_group", payload=b"not a numpy archive")

    assert routing.suggest("VPN tunnel drops").groups == []
    with pytest.raises(ValueError):
        routing.RoutingClassifier.from_bytes(b"PK\x03\x04 broken")
