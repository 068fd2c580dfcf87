"""Who may see the insight engine's records (registered with hashdesk.core.visibility).

Problem candidates and probable incidents are the service desk's working material: staff only.
Each report or item they point at is then read through its own model's rule before it is shown,
so a confidential incident inside a candidate stays hidden from staff outside its team.
"""

from django.db.models import Q

from hashdesk.core import visibility
from hashdesk.insights.models import (
    CandidateItem,
    ProbableIncident,
    ProbableReport,
    ProblemCandidate,
    SentimentDaily,
)


def _staff_only(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_staff(user) else Q(pk__in=[])


for model in (ProblemCandidate, CandidateItem, ProbableIncident, ProbableReport, SentimentDaily):
    visibility.register(model)(_staff_only)
