"""Events of the wall (docs/wall.md, docs/realtime.md).

One type, ``wall_post``, whose ``op`` says what happened: ``create`` (a new post or reply, an
official update, an announcement, a held post approved), ``update`` (edited, pinned or
unpinned, linked to an incident), ``delete`` (deleted, hidden by a moderator, or no longer
visible to a stream's listeners: the payload then carries the post's id only), ``reaction``
(the new counts), ``held`` (staff and the author: a post waits for review) and ``report``
(staff only: a post was reported).

A post's payload carries only what every listener of the streams it is sent on may see: its
text is already redacted and the streams are chosen from the post's own audience
(wall.actions.post_streams).
"""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class WallPostEvent(BaseEvent):
    type: ClassVar[str] = "wall_post"
    post: dict[str, object]
    report: dict[str, object] | None = None
