"""Visibility of service-level configuration (registered with hashdesk.core.visibility).

Calendars and policies are how the desk measures itself: service desk staff see all of them,
everyone else none. Requesters learn their own incident's due times through the incident.
"""

from django.db.models import Q

from hashdesk.core import visibility
from hashdesk.sla.models import BusinessCalendar, Holiday, SlaPolicy, WorkingPeriod


def _staff_only(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_staff(user) else Q(pk__in=[])


for _model in (BusinessCalendar, WorkingPeriod, Holiday, SlaPolicy):
    visibility.register(_model)(_staff_only)
