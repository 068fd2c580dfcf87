"""Full-text search over chat messages (chat.search; docs/chat.md, "Search").

SQLite: an FTS5 table over ``chat_message.body`` (external content: the text is stored once),
kept in step by triggers on insert, update of the body, and delete. PostgreSQL: a GIN index on
``to_tsvector('simple', body)``, the exact expression chat.search filters on. Other databases
get nothing (search is not offered there).
"""

from typing import Any

from django.db import migrations

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE chat_message_fts USING fts5("
    "body, content='chat_message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN "
    "INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message BEGIN "
    "INSERT INTO chat_message_fts(chat_message_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER chat_message_fts_update AFTER UPDATE OF body ON chat_message BEGIN "
    "INSERT INTO chat_message_fts(chat_message_fts, rowid, body) "
    "VALUES ('delete', old.id, old.body); "
    "INSERT INTO chat_message_fts(rowid, body) VALUES (new.id, new.body); END",
    # Messages written before this migration.
    "INSERT INTO chat_message_fts(chat_message_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
]
POSTGRES_CREATE = [
    "CREATE INDEX IF NOT EXISTS chat_message_body_search "
    "ON chat_message USING GIN (to_tsvector('simple', body))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS chat_message_body_search"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
