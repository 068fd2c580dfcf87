"""Routing suggestions for a new incident (docs/api.md, "Insights: routing").

``GET /api/v1/insights/routing?text=&service=&reporter=``: the likely assignment groups and
category, with the model's confidence. Service desk staff only (a requester gets 403): the
suggestion names teams and is for the people who route incidents.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, Output, with_errors
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX

router = Router(tags=["insights"])


class RoutingQuery(Schema):
    text: str = Field(
        "", max_length=TITLE_MAX + DESCRIPTION_MAX, description="Title and description."
    )
    service: str | None = Field(None, max_length=100, description="Service slug.")
    reporter: int | None = Field(None, ge=1, description="The reporting person's id.")


class GroupOut(Output):
    id: int
    slug: str
    name: str
    confidence: float


class SuggestedCategoryOut(Output):
    value: str
    label: str
    confidence: float


class ModelOut(Output):
    trained_at: datetime
    examples: int


class RoutingOut(Output):
    assignment_groups: list[GroupOut] = Field(
        description="Teams that still exist, most likely first, each above the floor."
    )
    category: SuggestedCategoryOut | None
    model: ModelOut | None = Field(description="The assignment-group model used; none yet.")


def _service(user: User, slug: str | None) -> Service | None:
    if not slug:
        return None
    service = visible_to(user, Service.objects.filter(slug=slug)).first()
    if service is None:
        raise ValidationFailed(f"There is no service {slug!r}.", field="service")
    return service


@router.get("insights/routing", response=with_errors({200: RoutingOut}, READ_ERRORS))
def routing_suggestions(request: HttpRequest, query: Query[RoutingQuery]) -> RoutingOut:
    user = acting_user(request)
    if not is_staff(user):
        raise Forbidden("Only service desk staff see routing suggestions.")
    text = query.text.strip()
    if not text:
        raise ValidationFailed("Give the text to route.", field="text")
    if "\x00" in text:
        raise ValidationFailed("Text may not contain NUL characters.", field="text")
    service = _service(user, query.service)
    from hashdesk.insights import routing  # scikit-learn: loaded on the first suggestion

    found = routing.suggest(
        text,
        service_id=service.pk if service else None,
        reporter_id=query.reporter,
    )
    return RoutingOut(
        assignment_groups=[
            GroupOut(
                id=g.team.pk,
                slug=g.team.slug,
                name=g.team.name,
                confidence=round(g.confidence, 4),
            )
            for g in found.groups
        ],
        category=(
            SuggestedCategoryOut(
                value=found.category.value,
                label=found.category.label,
                confidence=round(found.category.confidence, 4),
            )
            if found.category
            else None
        ),
        model=(
            ModelOut(trained_at=found.model.trained_at, examples=found.model.examples)
            if found.model is not None
            else None
        ),
    )
