"""Template helpers of the status page: a state's icon."""

from django import template

register = template.Library()

ICONS = {
    "operational": "check",
    "maintenance": "calendar",
    "degraded": "alert",
    "partial_outage": "alert",
    "major_outage": "alert",
}


@register.filter
def state_icon(state: str) -> str:
    return ICONS.get(state, "alert")
