from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_roles(sender: AppConfig, **kwargs: Any) -> None:
    from hashdesk.accounts.roles import ensure_roles

    ensure_roles()


class AccountsConfig(AppConfig):
    name = "hashdesk.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hashdesk.accounts import visibility  # noqa: F401  (registers the rules)

        post_migrate.connect(_create_roles, sender=self, dispatch_uid="hashdesk.accounts.roles")
        # Sign-in bookkeeping (last_login, failure counter, audit row) is the job of
        # accounts.actions.record_sign_in_success; Django's own receiver would save it twice.
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
