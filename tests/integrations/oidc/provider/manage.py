"""Setting up the test provider's database: ``python -m tests.integrations.oidc.provider.manage
setup '<json>'`` (migrate, register the client, add people)."""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integrations.oidc.provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    command = argv[0]
    if command == "setup":
        spec = json.loads(argv[1])
        call_command("migrate", verbosity=0, interactive=False)
        client = spec["client"]
        Application.objects.create(
            name="Hashdesk",
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=client["redirect_uri"],
            post_logout_redirect_uris=client.get("post_logout_redirect_uri") or "",
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=False,
        )
        for person in spec["people"]:
            user = User.objects.create_user(
                person["username"],
                email=person["email"],
                password=person["password"],
                first_name=person.get("first_name", ""),
                last_name=person.get("last_name", ""),
            )
            set_groups(user, person.get("groups", []), Group)
    else:
        raise SystemExit(f"unknown command {command!r}")


def set_groups(user: object, names: list[str], group_model: type) -> None:
    groups = [group_model.objects.get_or_create(name=name)[0] for name in names]  # type: ignore[attr-defined]
    user.groups.set(groups)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])
