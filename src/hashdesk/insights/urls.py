"""The insight pages (docs/insights.md): each part keeps its own URL list."""

from hashdesk.insights import burst_views, candidate_views, deflection_views, similar_views

app_name = "insights"
urlpatterns = [
    *similar_views.urlpatterns,
    *candidate_views.urlpatterns,
    *burst_views.urlpatterns,
    *deflection_views.urlpatterns,
]
