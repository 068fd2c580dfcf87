from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "hashdesk.integrations.oidc"
    label = "oidc"
    verbose_name = "OpenID Connect single sign-on"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hashdesk.integrations.oidc import config  # noqa: F401 (registers the system check)
