"""Who may see problems (registered with hashdesk.core.visibility; docs/problems.md).

Problems are the service desk's records: staff see every problem, its incident links and its
recurrences; everyone else none (a requester asking for one gets 404). Requesters learn of a
problem through its known-error article and the notices, never the record. The incidents a
problem links are read through ``visible_to`` on incidents, so the incidents' own rules still
decide which of them a viewer is shown.
"""

from django.db.models import Q

from hashdesk.core import visibility
from hashdesk.problems.models import Problem, ProblemIncident, ProblemRecurrence


def _staff_only(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_staff(user) else Q(pk__in=[])


@visibility.register(Problem)
def problems_visible(user: visibility.Viewer) -> Q:
    return _staff_only(user)


@visibility.register(ProblemIncident)
def problem_incidents_visible(user: visibility.Viewer) -> Q:
    return _staff_only(user)


@visibility.register(ProblemRecurrence)
def problem_recurrences_visible(user: visibility.Viewer) -> Q:
    return _staff_only(user)
