"""Mastodon's addresses under ``/mastodon/`` (a client's instance URL is ``<site>/mastodon``)."""

import re
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, re_path

from hashdesk.integrations.mastodon import follow_views, media_views, oauth_views, views

app_name = "mastodon"

_STATUS = "api/v1/statuses/<status_id>"
_PARAM = re.compile(r"<(\w+)>")


def path(route: str, view: Callable[..., Any], *, name: str) -> URLPattern:
    """``route`` with an optional trailing slash, as Mastodon (Rails) accepts; Mastodon.py asks
    for some addresses with one (``/api/v1/instance/``)."""
    pattern = _PARAM.sub(r"(?P<\1>[^/]+)", re.escape(route).replace(r"\<", "<").replace(r"\>", ">"))
    return re_path(rf"^{pattern}/?$", view, name=name)


urlpatterns: list[URLPattern | URLResolver] = [
    # OAuth 2
    path("api/v1/apps", oauth_views.register_app, name="apps"),
    path("api/v1/apps/verify_credentials", oauth_views.verify_app, name="apps-verify"),
    path("oauth/authorize", oauth_views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/token", oauth_views.token, name="token"),
    path("oauth/revoke", oauth_views.revoke, name="revoke"),
    path(
        ".well-known/oauth-authorization-server",
        oauth_views.server_metadata,
        name="oauth-metadata",
    ),
    # The person's own page of apps they let in (not part of Mastodon's API).
    re_path(r"^connected-apps/$", oauth_views.connected_apps, name="connected-apps"),
    re_path(
        r"^connected-apps/(?P<application_id>[0-9]+)/disconnect$",
        oauth_views.disconnect_app,
        name="connected-app-disconnect",
    ),
    # Instance
    path("api/v1/instance", views.instance_v1, name="instance"),
    path("api/v2/instance", views.instance_v2, name="instance-v2"),
    # Accounts
    path(
        "api/v1/accounts/verify_credentials",
        views.verify_credentials,
        name="verify-credentials",
    ),
    path(
        "api/v1/accounts/relationships",
        follow_views.account_relationships,
        name="account-relationships",
    ),
    path("api/v1/accounts/<account_id>", views.account_detail, name="account"),
    path("api/v1/accounts/<account_id>/follow", follow_views.account_follow, name="account-follow"),
    path(
        "api/v1/accounts/<account_id>/unfollow",
        follow_views.account_unfollow,
        name="account-unfollow",
    ),
    path(
        "api/v1/accounts/<account_id>/statuses",
        views.account_statuses,
        name="account-statuses",
    ),
    # Statuses
    path("api/v1/statuses", views.statuses_create, name="statuses"),
    path(_STATUS, views.status_detail, name="status"),
    path(f"{_STATUS}/context", views.status_context, name="status-context"),
    path(f"{_STATUS}/favourite", views.favourite, name="status-favourite"),
    path(f"{_STATUS}/unfavourite", views.unfavourite, name="status-unfavourite"),
    path(f"{_STATUS}/favourited_by", views.favourited_by, name="status-favourited-by"),
    # Media (uploaded first, then named in a status's media_ids[])
    path("api/v1/media", media_views.media_upload, name="media"),
    path("api/v2/media", media_views.media_upload, name="media-v2"),
    path("api/v1/media/<media_id>", media_views.media_detail, name="media-detail"),
    # Timelines
    path("api/v1/timelines/home", views.timeline_home, name="timeline-home"),
    path("api/v1/timelines/public", views.timeline_public, name="timeline-public"),
    path("api/v1/timelines/tag/<hashtag>", views.timeline_tag, name="timeline-tag"),
    # Hashtags
    path("api/v1/tags/<hashtag>", follow_views.tag_detail, name="tag"),
    path("api/v1/tags/<hashtag>/follow", follow_views.tag_follow, name="tag-follow"),
    path("api/v1/tags/<hashtag>/unfollow", follow_views.tag_unfollow, name="tag-unfollow"),
    path("api/v1/followed_tags", follow_views.followed_tags, name="followed-tags"),
    # Search
    path("api/v2/search", follow_views.search_v2, name="search"),
    # Notifications
    path("api/v1/notifications", views.notifications, name="notifications"),
    path("api/v1/notifications/clear", views.notifications_clear, name="notifications-clear"),
    path(
        "api/v1/notifications/<notification_id>",
        views.notification_detail,
        name="notification",
    ),
    path(
        "api/v1/notifications/<notification_id>/dismiss",
        views.notification_dismiss,
        name="notification-dismiss",
    ),
    path("avatars/missing.png", views.avatar, name="avatar"),
    # Any other API address: Mastodon's JSON 404, not an HTML page.
    re_path(r"^api/(?P<rest>.*)$", views.not_found, name="not-found"),
]
