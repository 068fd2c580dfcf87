"""Top-level URL map."""

from django.urls import include, path

urlpatterns = [
    path("", include("hashdesk.ops.urls")),
    path("api/", include("hashdesk.api.urls")),
    path("accounts/", include("hashdesk.accounts.urls")),
    path("catalogue/", include("hashdesk.catalog.urls")),
    path("incidents/", include("hashdesk.incidents.urls")),
    path("notifications/", include("hashdesk.notify.urls")),
    path("wall/", include("hashdesk.wall.urls")),
    path("chat/", include("hashdesk.chat.urls")),
    path("knowledge/", include("hashdesk.knowledge.urls")),
    path("changes/", include("hashdesk.changes.urls")),
    path("problems/", include("hashdesk.problems.urls")),
    path("insights/", include("hashdesk.insights.urls")),
    path("search/", include("hashdesk.search.urls")),
    path("status/", include("hashdesk.status.urls")),
    path("integrations/", include("hashdesk.integrations.urls")),
    path("mastodon/", include("hashdesk.integrations.mastodon.urls")),
    path("", include("hashdesk.web.urls")),
]
