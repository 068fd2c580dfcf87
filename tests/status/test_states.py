"""The state of a service: the mapping from incidents and changes, and propagation through the
dependency graph (status/states.py, a pure function)."""

from __future__ import annotations

from hashdesk.status.states import (
    OpenIncident,
    ServiceState,
    derive_states,
    incident_state,
    worst,
)

SSO, VPN, DESKTOP, MAIL, SECRET = 1, 2, 3, 4, 5
NAMES = {SSO: "SSO", VPN: "VPN", DESKTOP: "Remote desktop", MAIL: "Mail"}
# Remote desktop depends on VPN, which depends on SSO.
CHAIN = [(VPN, SSO), (DESKTOP, VPN)]


def test_incident_priority_maps_to_a_state() -> None:
    assert incident_state(1, False) == ServiceState.MAJOR_OUTAGE
    assert incident_state(4, True) == ServiceState.MAJOR_OUTAGE
    assert incident_state(2, False) == ServiceState.PARTIAL_OUTAGE
    assert incident_state(3, False) == ServiceState.DEGRADED
    assert incident_state(4, False) == ServiceState.OPERATIONAL
    assert incident_state(5, False) == ServiceState.OPERATIONAL


def test_worst_incident_wins_and_an_outage_outranks_maintenance() -> None:
    states = derive_states(
        names=NAMES,
        dependencies=[],
        incidents=[OpenIncident(SSO, 3, False), OpenIncident(SSO, 2, False)],
        maintenance=[SSO, MAIL],
    )
    assert states[SSO].state == ServiceState.PARTIAL_OUTAGE
    assert states[MAIL].state == ServiceState.MAINTENANCE
    assert states[VPN].state == ServiceState.OPERATIONAL
    assert worst(item.state for item in states.values()) == ServiceState.PARTIAL_OUTAGE


def test_an_outage_propagates_down_the_chain_as_degraded_with_the_reason() -> None:
    states = derive_states(
        names=NAMES,
        dependencies=CHAIN,
        incidents=[OpenIncident(SSO, 1, True)],
        maintenance=[],
    )
    assert states[SSO].state == ServiceState.MAJOR_OUTAGE
    assert states[SSO].reasons == []
    assert states[VPN].state == ServiceState.DEGRADED
    assert states[VPN].own == ServiceState.OPERATIONAL
    assert states[VPN].reasons == ["Depends on SSO (major outage)"]
    # Transitively: Remote desktop → VPN → SSO.
    assert states[DESKTOP].state == ServiceState.DEGRADED
    assert states[DESKTOP].reasons == ["Depends on SSO (major outage)"]
    assert states[MAIL].state == ServiceState.OPERATIONAL


def test_a_degraded_upstream_does_not_propagate_and_a_worse_own_state_stays() -> None:
    states = derive_states(
        names=NAMES,
        dependencies=CHAIN,
        incidents=[OpenIncident(SSO, 3, False), OpenIncident(DESKTOP, 2, False)],
        maintenance=[],
    )
    assert states[VPN].state == ServiceState.OPERATIONAL
    assert states[DESKTOP].state == ServiceState.PARTIAL_OUTAGE


def test_a_service_with_own_maintenance_and_an_upstream_outage_shows_degraded() -> None:
    states = derive_states(
        names=NAMES,
        dependencies=CHAIN,
        incidents=[OpenIncident(SSO, 2, False)],
        maintenance=[VPN],
    )
    assert states[VPN].state == ServiceState.DEGRADED
    assert states[VPN].own == ServiceState.MAINTENANCE
    assert states[VPN].reasons == ["Depends on SSO (partial outage)"]


def test_upstream_maintenance_is_a_note_without_a_state_change() -> None:
    states = derive_states(names=NAMES, dependencies=CHAIN, incidents=[], maintenance=[SSO])
    assert states[VPN].state == ServiceState.OPERATIONAL
    assert states[VPN].notes == ["SSO maintenance"]
    assert states[DESKTOP].notes == ["SSO maintenance"]


def test_cycles_end_the_walk() -> None:
    states = derive_states(
        names=NAMES,
        dependencies=[(SSO, VPN), (VPN, DESKTOP), (DESKTOP, SSO)],
        incidents=[OpenIncident(DESKTOP, 1, False)],
        maintenance=[],
    )
    assert states[SSO].state == ServiceState.DEGRADED
    assert states[VPN].state == ServiceState.DEGRADED
    assert states[DESKTOP].state == ServiceState.MAJOR_OUTAGE
    assert states[DESKTOP].reasons == []
    assert states[SSO].reasons == ["Depends on Remote desktop (major outage)"]


def test_a_reason_never_names_a_hidden_service() -> None:
    # Mail depends on a service the tier may not see (SECRET is not in names).
    states = derive_states(
        names=NAMES,
        dependencies=[(MAIL, SECRET)],
        incidents=[OpenIncident(SECRET, 2, False)],
        maintenance=[],
    )
    assert set(states) == set(NAMES)
    assert states[MAIL].state == ServiceState.DEGRADED
    assert states[MAIL].reasons == ["A service it depends on has a partial outage"]
    notes = derive_states(
        names=NAMES, dependencies=[(MAIL, SECRET)], incidents=[], maintenance=[SECRET]
    )
    assert notes[MAIL].notes == ["Maintenance on a service it depends on"]
