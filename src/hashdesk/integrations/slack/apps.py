from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "hashdesk.integrations.slack"
    label = "slack"
    verbose_name = "Slack-compatible incoming webhooks"
    default_auto_field = "django.db.models.BigAutoField"
