"""The service catalogue: services, their configuration items and the dependency graph."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from hashdesk.catalog.choices import CIKind, Criticality, Visibility

# A hashtag is what people type after '#': letters, digits, '_' and '-', starting with a letter.
HASHTAG_PATTERN = r"^[a-z][a-z0-9_-]{0,49}$"
hashtag_validator = RegexValidator(
    HASHTAG_PATTERN,
    "A hashtag starts with a letter and has up to 50 lowercase letters, digits, '_' or '-'.",
)


class ServiceCategory(models.Model):
    """Groups services on the catalogue and status pages (e.g. 'Collaboration')."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "service categories"

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    # Stored without '#', lower case; unique so a hashtag binds a post to exactly one service.
    hashtag = models.CharField(max_length=50, unique=True, validators=[hashtag_validator])
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        ServiceCategory, on_delete=models.PROTECT, related_name="services", null=True, blank=True
    )
    owner_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        related_name="owned_services",
        null=True,
        blank=True,
    )
    criticality = models.CharField(
        max_length=10, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    depends_on: models.ManyToManyField[Service, ServiceDependency] = models.ManyToManyField(
        "self",
        through="ServiceDependency",
        symmetrical=False,
        related_name="dependents",
        through_fields=("service", "depends_on"),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tag(self) -> str:
        return f"#{self.hashtag}"


class ServiceDependency(models.Model):
    """'service depends on depends_on': when depends_on is down, service is affected."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="upstream_links")
    depends_on = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="downstream_links"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "depends_on"], name="unique_dependency"),
            models.CheckConstraint(
                condition=~models.Q(service=models.F("depends_on")), name="no_self_dependency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} depends on {self.depends_on}"


class ConfigurationItem(models.Model):
    """A thing that delivers a service: a server, a network device, an application."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=CIKind.choices, default=CIKind.SERVER)
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="configuration_items"
    )
    description = models.TextField(blank=True)
    location = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
