"""Template helpers of the attachments panel (incidents/includes/attachments.html)."""

from __future__ import annotations

from django import template

from hashdesk.incidents import attachments
from hashdesk.incidents.models import Attachment

register = template.Library()


@register.simple_tag
def attachment_limits() -> attachments.Limits:
    """What may be uploaded, from the settings: ``{% attachment_limits as limits %}``."""
    return attachments.upload_limits()


@register.filter
def attachment_kind(attachment: Attachment) -> str:
    """A person's name for the file's type ("PDF document"), or its media type."""
    known = attachments.type_for(attachment.filename)
    if known is not None and known.content_type == attachment.content_type:
        return known.label[0].upper() + known.label[1:]
    return attachment.content_type
