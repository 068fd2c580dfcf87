"""``{% proposed_workarounds problem %}``: accepted wall answers proposed as a problem's
workaround (wall.questions), for the problem page, with "Use as workaround" for managers."""

from __future__ import annotations

from typing import Any

from django import template

from hashdesk.core.visibility import can_manage_problems
from hashdesk.wall.questions import proposals_for

register = template.Library()


@register.inclusion_tag("wall/includes/proposed_workarounds.html", takes_context=True)
def proposed_workarounds(context: template.Context, problem: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "proposals": proposals_for(user, problem),
        "may_adopt": can_manage_problems(user) and not problem.workaround,
        "csrf_token": context.get("csrf_token"),
    }
