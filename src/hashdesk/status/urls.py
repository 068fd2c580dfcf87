from django.urls import URLPattern, URLResolver, path, re_path

from hashdesk.status import feeds, subscriber_views, views

app_name = "status"
# A service's pages come after every fixed address, and never take "subscribe/": its pattern
# excludes it whatever order the patterns are listed in.
SERVICE = r"(?!subscribe/)(?P<slug>[-a-zA-Z0-9_]+)"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.status_page, name="page"),
    path("summary.json", views.summary_json, name="summary"),
    path("feed.rss", feeds.StatusFeed(), name="feed-rss"),
    path("feed.atom", feeds.StatusAtomFeed(), name="feed-atom"),
    re_path(rf"^{SERVICE}/$", views.service_page, name="service"),
    re_path(rf"^{SERVICE}/feed\.rss$", feeds.ServiceFeed(), name="service-feed-rss"),
    re_path(rf"^{SERVICE}/feed\.atom$", feeds.ServiceAtomFeed(), name="service-feed-atom"),
]

# Email subscriptions of anonymous visitors (status/subscriber_views.py).
urlpatterns += [
    path("subscribe/", subscriber_views.subscribe, name="subscribe"),
    path("subscribe/sent/", subscriber_views.subscribe_sent, name="subscribe-sent"),
    path("subscribe/confirm/<str:token>/", subscriber_views.confirm, name="subscribe-confirm"),
    path(
        "subscribe/unsubscribe/<str:token>/",
        subscriber_views.unsubscribe,
        name="subscribe-unsubscribe",
    ),
]
