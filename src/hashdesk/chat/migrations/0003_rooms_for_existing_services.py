"""Every service has its chat room: make the rooms of services created before chat existed."""

from django.db import migrations


def make_rooms(apps, schema_editor):  # type: ignore[no-untyped-def]
    Service = apps.get_model("catalog", "Service")
    Room = apps.get_model("chat", "Room")
    with_room = Room.objects.filter(kind="service").values("service_id")
    Room.objects.bulk_create(
        Room(
            kind="service",
            service=service,
            name=f"#{service.hashtag}" if service.hashtag else service.name,
            topic=f"Talk about {service.name} with colleagues and the service desk.",
        )
        for service in Service.objects.exclude(pk__in=with_room)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_message_search"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(make_rooms, migrations.RunPython.noop)]
