"""Addresses under ``/integrations/``; the Mastodon API has its own prefix (``/mastodon/``)."""

from django.urls import include, path

from hashdesk.integrations import overview

urlpatterns = [
    path("", overview.overview_page, name="integrations-overview"),
    path("mail/", include("hashdesk.integrations.mail.urls")),
    path("alertmanager/", include("hashdesk.integrations.alertmanager.urls")),
    path("slack/", include("hashdesk.integrations.slack.urls")),
    path("oidc/", include("hashdesk.integrations.oidc.urls")),
    path("transfer/", include("hashdesk.integrations.transfer.urls")),
]
