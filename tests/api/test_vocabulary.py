"""The API's vocabularies are spelled out as Literal types (so OpenAPI lists them); each must name
exactly the values of the choices it mirrors, or a new value (a timeline kind, a state) would make
every response that carries it fail its own schema."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from hashdesk.accounts import choices as account_choices
from hashdesk.accounts import schemas as account_schemas
from hashdesk.catalog import choices as catalog_choices
from hashdesk.catalog import schemas as catalog_schemas
from hashdesk.chat import choices as chat_choices
from hashdesk.chat import schemas_help as chat_help_schemas
from hashdesk.incidents import choices as incident_choices
from hashdesk.incidents import schemas as incident_schemas
from hashdesk.wall import choices as wall_choices
from hashdesk.wall import schemas as wall_schemas

PAIRS: list[tuple[Any, Any, set[Any]]] = [
    (incident_schemas.StateName, incident_choices.State, set()),
    (incident_schemas.HoldReasonName, incident_choices.HoldReason, set()),
    (incident_schemas.ResolutionCodeName, incident_choices.ResolutionCode, set()),
    (incident_schemas.CategoryName, incident_choices.Category, set()),
    (incident_schemas.ChannelName, incident_choices.Channel, set()),
    (incident_schemas.TimelineKindName, incident_choices.TimelineKind, set()),
    # An incident without SLA clocks has an empty state.
    (incident_schemas.SlaStateName, incident_choices.SlaState, {""}),
    (incident_schemas.LevelValue, incident_choices.Level, set()),
    (catalog_schemas.CriticalityName, catalog_choices.Criticality, set()),
    (catalog_schemas.VisibilityName, catalog_choices.Visibility, set()),
    (catalog_schemas.CIKindName, catalog_choices.CIKind, set()),
    (account_schemas.RoleName, account_choices.Role, set()),
    (account_schemas.TeamRoleName, account_choices.TeamRole, set()),
    (wall_schemas.PostKindName, wall_choices.PostKind, set()),
    (wall_schemas.PostVisibilityName, wall_choices.PostVisibility, set()),
    (wall_schemas.ReactionKindName, wall_choices.ReactionKind, set()),
    (wall_schemas.FollowKindName, wall_choices.FollowKind, set()),
    (wall_schemas.ModerationStateName, wall_choices.ModerationState, set()),
    (wall_schemas.ReportStateName, wall_choices.ReportState, set()),
    (chat_help_schemas.ConversationStateName, chat_choices.ConversationState, set()),
]


@pytest.mark.parametrize(
    ("literal", "choices", "extra"), PAIRS, ids=lambda v: getattr(v, "__name__", "")
)
def test_api_literals_match_the_model_choices(literal, choices, extra):
    assert set(get_args(literal)) == set(choices.values) | extra
