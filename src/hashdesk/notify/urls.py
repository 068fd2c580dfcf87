from django.urls import URLPattern, URLResolver, path

from hashdesk.notify import (
    chat_tool_views,
    delivery_views,
    preference_views,
    unsubscribe_views,
    views,
    webhook_views,
)

app_name = "notify"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.notification_list, name="list"),
    path("menu/", views.menu_fragment, name="menu"),
    path("read/", views.mark_read, name="mark-read"),
    path("preferences/", preference_views.preferences, name="preferences"),
    path("subscriptions/", preference_views.subscriptions, name="subscriptions"),
    path("subscriptions/follow/", preference_views.follow, name="follow"),
    path("subscriptions/unfollow/", preference_views.unfollow, name="unfollow"),
    path("chat-tools/", chat_tool_views.chat_tool_list, name="chat-tools"),
    path("chat-tools/new/", chat_tool_views.chat_tool_create, name="chat-tool-create"),
    path("chat-tools/<int:pk>/edit/", chat_tool_views.chat_tool_edit, name="chat-tool-edit"),
    path("chat-tools/<int:pk>/delete/", chat_tool_views.chat_tool_delete, name="chat-tool-delete"),
    path("chat-tools/<int:pk>/test/", chat_tool_views.chat_tool_test, name="chat-tool-test"),
    path("chat-tools/<int:pk>/enable/", chat_tool_views.chat_tool_enable, name="chat-tool-enable"),
    path("deliveries/", delivery_views.delivery_list, name="deliveries"),
    path("deliveries/<int:message_id>/", delivery_views.delivery_detail, name="delivery"),
    path(
        "deliveries/<int:message_id>/resend/",
        delivery_views.delivery_resend,
        name="delivery-resend",
    ),
    path("webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("webhooks/new/", webhook_views.webhook_create, name="webhook-create"),
    path("webhooks/<int:endpoint_id>/edit/", webhook_views.webhook_edit, name="webhook-edit"),
    path("webhooks/<int:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook-delete"),
    path("webhooks/<int:endpoint_id>/enable/", webhook_views.webhook_enable, name="webhook-enable"),
    path("webhooks/<int:endpoint_id>/test/", webhook_views.webhook_test, name="webhook-test"),
    path("webhooks/<int:endpoint_id>/secret/", webhook_views.webhook_rotate, name="webhook-rotate"),
    path("unsubscribe/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]
