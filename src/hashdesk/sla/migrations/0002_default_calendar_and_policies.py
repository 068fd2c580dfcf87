"""Default calendars and P1-P5 policies (docs/sla.md), so incidents have SLAs from day one.

Administrators change them with the sla actions; this migration only seeds an empty database.
"""

from datetime import time

from django.db import migrations

STANDARD = "Standard business hours"
ALWAYS = "24x7"

# (priority, name, calendar, response minutes, resolution minutes)
POLICIES = [
    (1, "P1 - Critical", ALWAYS, 15, 4 * 60),
    (2, "P2 - High", STANDARD, 30, 8 * 60),
    (3, "P3 - Moderate", STANDARD, 4 * 60, 3 * 10 * 60),
    (4, "P4 - Low", STANDARD, 8 * 60, 5 * 10 * 60),
    (5, "P5 - Planning", STANDARD, 3 * 10 * 60, 10 * 10 * 60),
]


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingPeriod = apps.get_model("sla", "WorkingPeriod")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    if BusinessCalendar.objects.exists():
        return
    standard = BusinessCalendar.objects.create(
        name=STANDARD,
        time_zone="Europe/London",
        description="Monday to Friday, 08:00-18:00 London time.",
    )
    always = BusinessCalendar.objects.create(
        name=ALWAYS, time_zone="UTC", description="Every hour of every day."
    )
    WorkingPeriod.objects.bulk_create(
        [WorkingPeriod(calendar=standard, weekday=d, start=time(8), end=time(18)) for d in range(5)]
        + [WorkingPeriod(calendar=always, weekday=d, start=time(0), end=time(0)) for d in range(7)]
    )
    calendars = {STANDARD: standard, ALWAYS: always}
    SlaPolicy.objects.bulk_create(
        SlaPolicy(
            name=name,
            priority=priority,
            calendar=calendars[calendar],
            response_minutes=response,
            resolution_minutes=resolution,
            warning_share=0.75,
        )
        for priority, name, calendar, response, resolution in POLICIES
    )


def unseed(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaPolicy.objects.filter(service__isnull=True, calendar__name__in=[STANDARD, ALWAYS]).delete()
    BusinessCalendar.objects.filter(name__in=[STANDARD, ALWAYS], policies__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
