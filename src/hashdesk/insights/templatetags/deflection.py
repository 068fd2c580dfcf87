"""``{% load deflection %}{% prevented_tickets article %}``: "Prevented N tickets" on an
article page, from the deflections its suggestions recorded (insights.deflection). Renders
nothing while it has prevented none. One COUNT query."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from hashdesk.insights.deflection import prevented_tickets as count_prevented

register = template.Library()


@register.simple_tag
def prevented_tickets(article: Any) -> str:
    pk = getattr(article, "pk", None)
    count = count_prevented(pk) if pk else 0
    if not count:
        return ""
    noun = "ticket" if count == 1 else "tickets"
    return format_html(
        '<p class="muted" data-prevented-tickets="{}">Prevented {} {}</p>', count, count, noun
    )
