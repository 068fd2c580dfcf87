from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "hashdesk.integrations.mail"
    label = "mail"
    verbose_name = "Inbound email"
    default_auto_field = "django.db.models.BigAutoField"
