"""Vocabulary of the Slack-compatible incoming webhooks."""

from django.db import models


class HookTarget(models.TextChoices):
    # An official post on the service's wall timeline (wall.actions.publish_change_notice).
    TIMELINE = "timeline", "Service timeline on the wall"
    # A message in the service's chat room (chat.actions.do_send_message), as the hook's account.
    ROOM = "room", "Service chat room"
