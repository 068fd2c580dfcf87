"""Events of chat (docs/chat.md, docs/realtime.md).

- ``chat_message`` on ``room:<id>``: ``create``, ``update`` (edited, reactions, thread reply
  count), ``delete`` (the message keeps its id and place, without its text).
- ``chat_room`` on ``room:<id>`` and the person's ``user:<id>``: ``joined``, ``left``,
  ``update`` (name, topic, archived).
- ``chat_read`` on the reader's ``user:<id>`` (their other tabs and devices) and, in a
  live-help room, on the room (the other side sees their message was read).
- ``chat_conversation`` on ``staff`` (the live-help queue) and the requester's ``user:<id>``.

A message's payload is already redacted; the room's stream reaches only its members who may
see the room (core.visibility.can_subscribe).
"""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class ChatMessageEvent(BaseEvent):
    type: ClassVar[str] = "chat_message"
    message: dict[str, object]


class ChatRoomEvent(BaseEvent):
    type: ClassVar[str] = "chat_room"
    room: dict[str, object]
    user_id: int | None = None


class ChatReadEvent(BaseEvent):
    type: ClassVar[str] = "chat_read"
    room_id: int
    user_id: int
    last_read_message_id: int


class ChatConversationEvent(BaseEvent):
    type: ClassVar[str] = "chat_conversation"
    conversation: dict[str, object]
