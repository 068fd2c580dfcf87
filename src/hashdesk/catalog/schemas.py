"""API shapes of the service catalogue (requests and answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, Output, optional

CriticalityName = Literal["low", "medium", "high", "critical"]
VisibilityName = Literal["public", "internal", "confidential"]
CIKindName = Literal["server", "network", "application", "database", "endpoint", "cloud", "other"]

SLUG = r"^[-a-zA-Z0-9_]+$"
DESCRIPTION_MAX = 10_000


# --- Answers ------------------------------------------------------------------------------------


class CategoryOut(Output):
    slug: str
    name: str
    position: int


class CategoryPage(Output):
    items: list[CategoryOut]
    next_cursor: str | None


class TeamRef(Output):
    slug: str
    name: str


class ServiceRef(Output):
    slug: str
    name: str
    hashtag: str
    criticality: CriticalityName


class ServiceOut(Output):
    id: int
    slug: str
    name: str
    hashtag: str
    tag: str = Field(description="The hashtag as people type it, e.g. '#vpn'.")
    description: str
    criticality: CriticalityName
    visibility: VisibilityName
    is_active: bool
    category: CategoryOut | None
    owner_team: TeamRef | None
    updated_at: datetime


class ServicePage(Output):
    items: list[ServiceOut]
    next_cursor: str | None


class ConfigurationItemOut(Output):
    id: int
    name: str
    kind: CIKindName
    service: ServiceRef
    description: str
    location: str
    is_active: bool
    created_at: datetime


class ConfigurationItemRef(Output):
    id: int
    name: str
    kind: CIKindName
    is_active: bool


class ConfigurationItemPage(Output):
    items: list[ConfigurationItemOut]
    next_cursor: str | None


class ServiceDetailOut(ServiceOut):
    """A service with its neighbours in the dependency graph (only those the reader may see).

    The lists are read from the ``visible_*`` attributes that ``catalog.api`` prefetches.
    """

    created_at: datetime
    depends_on: list[ServiceRef] = Field(validation_alias="visible_depends_on")
    dependents: list[ServiceRef] = Field(validation_alias="visible_dependents")
    configuration_items: list[ConfigurationItemRef] = Field(
        validation_alias="visible_configuration_items"
    )


class AffectedOut(Output):
    service: ServiceRef
    affected: list[ServiceRef] = Field(
        description="Every service that depends on this one, directly or not; nearest first."
    )


class DependencyOut(Output):
    service: ServiceRef
    depends_on: ServiceRef
    note: str


# --- Query parameters ---------------------------------------------------------------------------


class ServiceFilters(PageParams):
    category: str | None = Field(None, max_length=100, description="Category slug.")
    criticality: CriticalityName | None = None
    q: str | None = Field(None, max_length=100, description="Text in name, hashtag or description.")
    is_active: bool | None = None


class ConfigurationItemFilters(PageParams):
    service: str | None = Field(None, max_length=100, description="Service slug.")
    kind: CIKindName | None = None
    q: str | None = Field(None, max_length=100, description="Text in name or location.")


# --- Requests -----------------------------------------------------------------------------------


class ServiceCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    hashtag: str = Field(min_length=1, max_length=51, examples=["vpn"])
    slug: str = Field("", max_length=100, pattern=r"^([-a-zA-Z0-9_]+)?$")
    description: str = Field("", max_length=DESCRIPTION_MAX)
    category: str | None = Field(None, max_length=100, description="Category slug.")
    owner_team: str | None = Field(None, max_length=100, description="Team slug.")
    criticality: CriticalityName = "medium"
    visibility: VisibilityName = "internal"


class ServiceUpdate(Input):
    """Only the fields sent are changed; ``category``/``owner_team`` null clears them."""

    name: str = optional(min_length=1, max_length=100)
    hashtag: str = optional(min_length=1, max_length=51)
    slug: str = optional(min_length=1, max_length=100, pattern=SLUG)
    description: str = optional(max_length=DESCRIPTION_MAX)
    category: str | None = Field(None, max_length=100)
    owner_team: str | None = Field(None, max_length=100)
    criticality: CriticalityName = optional()
    visibility: VisibilityName = optional()
    is_active: bool = optional()


class DependencyCreate(Input):
    depends_on: str = Field(min_length=1, max_length=100, description="Slug of the service.")
    note: str = Field("", max_length=200)


class ConfigurationItemCreate(Input):
    service: str = Field(min_length=1, max_length=100, description="Service slug.")
    name: str = Field(min_length=1, max_length=100)
    kind: CIKindName = "server"
    description: str = Field("", max_length=DESCRIPTION_MAX)
    location: str = Field("", max_length=100)


class ConfigurationItemUpdate(Input):
    service: str = optional(min_length=1, max_length=100, description="Service slug.")
    name: str = optional(min_length=1, max_length=100)
    kind: CIKindName = optional()
    description: str = optional(max_length=DESCRIPTION_MAX)
    location: str = optional(max_length=100)
    is_active: bool = optional()
