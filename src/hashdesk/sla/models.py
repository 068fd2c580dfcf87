"""Business calendars and SLA policies.

A working period ends at 00:00 to mean midnight at the end of its day (24:00), which a time
field cannot hold: a 24x7 calendar is 00:00-00:00 on every weekday. Any other period needs
start < end, and the periods of one weekday must not overlap (checked by the actions).
"""

from __future__ import annotations

from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from hashdesk.accounts.models import validate_time_zone
from hashdesk.catalog.models import Service
from hashdesk.sla.business_time import MINUTES_PER_DAY, CalendarSnapshot, Period
from hashdesk.sla.choices import DEFAULT_WARNING_SHARE, Priority, Weekday


def validate_share(value: float) -> None:
    if not 0 < value < 1:
        raise ValidationError("The warning share must lie strictly between 0 and 1, e.g. 0.75.")


def period_minutes(start: time, end: time) -> Period:
    """Minutes since midnight; an end of 00:00 is midnight at the end of the day (1440)."""
    end_minute = end.hour * 60 + end.minute
    return start.hour * 60 + start.minute, end_minute or MINUTES_PER_DAY


class BusinessCalendar(models.Model):
    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> CalendarSnapshot:
        """The calendar as the pure business-time functions take it (two queries)."""
        days: list[list[Period]] = [[] for _ in range(7)]
        for period in self.periods.order_by("weekday", "start"):
            days[period.weekday].append(period_minutes(period.start, period.end))
        return CalendarSnapshot(
            time_zone=self.time_zone,
            periods=tuple(tuple(day) for day in days),
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
        )


class WorkingPeriod(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    # 00:00 means midnight at the end of the day (see the module docstring).
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="sla_period_weekday"),
            models.CheckConstraint(
                condition=Q(start__lt=F("end")) | Q(end=time(0)), name="sla_period_start_before_end"
            ),
        ]

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{Weekday(self.weekday).label} {self.start:%H:%M}-{end}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="sla_unique_holiday"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%Y-%m-%d})"


class SlaPolicyQuerySet(models.QuerySet["SlaPolicy"]):
    def policy_for(self, priority: int, service_id: int | None) -> SlaPolicy | None:
        """The active policy for ``priority`` on a service, in one query: the service's own
        policy wins over the general one (service null) for that priority."""
        service_match = Q(service__isnull=True)
        if service_id is not None:
            service_match |= Q(service_id=service_id)
        return (
            self.filter(service_match, priority=priority, is_active=True)
            .select_related("calendar")
            .order_by(F("service_id").asc(nulls_last=True))
            .first()
        )


class SlaPolicy(models.Model):
    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    # Null: the general policy for the priority; set: a policy for that service only.
    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.CASCADE,
        related_name="sla_policies",
        null=True,
        blank=True,
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies"
    )
    response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    warning_share = models.FloatField(
        default=DEFAULT_WARNING_SHARE,
        validators=[validate_share],
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = SlaPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "service_id", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            # Two constraints because SQL treats NULLs as distinct in a unique index.
            models.UniqueConstraint(
                fields=["priority", "service"], name="sla_unique_service_policy"
            ),
            models.UniqueConstraint(
                fields=["priority"],
                condition=Q(service__isnull=True),
                name="sla_unique_general_policy",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=5), name="sla_policy_priority"
            ),
            models.CheckConstraint(
                condition=Q(warning_share__gt=0, warning_share__lt=1),
                name="sla_policy_warning_share",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def policy_for(priority: int, service: Service | None) -> SlaPolicy | None:
    """The policy that applies to a record of ``priority`` on ``service``."""
    return SlaPolicy.objects.policy_for(priority, service.pk if service is not None else None)
