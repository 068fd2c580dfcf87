"""Events of knowledge articles (docs/knowledge.md, docs/realtime.md).

One type, ``knowledge_article``, on ``staff`` (drafts are the desk's): ``op`` is ``drafted`` (a
new draft, by hand or from a chat or an accepted answer) or ``edited`` (a new version).
"""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class KnowledgeArticleEvent(BaseEvent):
    type: ClassVar[str] = "knowledge_article"
    article: dict[str, object]
