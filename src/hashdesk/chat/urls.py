"""Chat's pages (docs/chat.md)."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.chat import help_views, views, views_files

app_name = "chat"
urlpatterns: list[URLPattern | URLResolver] = [
    # The pages (chat.views).
    path("", views.index, name="index"),
    path("rooms/<int:room_id>/", views.room, name="room"),
    path("rooms/<int:room_id>/messages/", views.send, name="send"),
    path("rooms/<int:room_id>/join/", views.join, name="join"),
    path("rooms/<int:room_id>/leave/", views.leave, name="leave"),
    path("messages/<int:message_id>/thread/", views.thread, name="thread"),
    path("messages/<int:message_id>/edit/", views.edit, name="edit"),
    path("messages/<int:message_id>/delete/", views.delete, name="delete"),
    path("messages/<int:message_id>/react/", views.react, name="react"),
    path("help/", help_views.help_desk, name="help"),
    path("queue/", help_views.queue, name="queue"),
    path("conversations/<int:conversation_id>/", help_views.conversation, name="conversation"),
    path("conversations/<int:conversation_id>/pick-up/", help_views.pick_up, name="pick-up"),
    path("conversations/<int:conversation_id>/transfer/", help_views.transfer, name="transfer"),
    path("conversations/<int:conversation_id>/close/", help_views.close, name="close"),
    path(
        "conversations/<int:conversation_id>/file-incident/",
        help_views.file_incident,
        name="file-incident",
    ),
    path(
        "conversations/<int:conversation_id>/link-incident/",
        help_views.link_incident,
        name="link-incident",
    ),
    # Files shared in rooms (chat.views_files).
    path(
        "attachments/<int:attachment_id>/<str:filename>",
        views_files.download,
        name="attachment",
    ),
]
