"""Full-text index over the similarity index (insights.IndexedItem; docs/insights.md).

SQLite: a contentless FTS5 table ``insights_indexeditem_fts`` with two columns, the analysed
text and the item's tags (its kind, and "open" while it is open), so kind and open filters are
part of the full-text match instead of starving it afterwards. ``IndexedItem.text`` is already
analysed (``insights.text.tokens``, joined by spaces), so the tokenizer only splits on spaces
(``.'_-`` are token characters) and the index's terms are the analyser's terms. Positions are
not kept (``detail=column``): the query is an OR of single terms. Triggers keep it in step;
an ``fts5vocab`` table gives each term's document frequency (the query keeps its rarest terms).
PostgreSQL: a GIN index on ``to_tsvector('simple', text)``, the expression insights.similar
filters on. Other databases get nothing (similar_items returns nothing there).
"""

from typing import Any

from django.db import migrations

_TAGS = "{row}.kind || CASE WHEN {row}.is_open THEN ' open' ELSE '' END"
# Constant SQL built from constants (no input): S608 is about interpolated input.
_INSERT = (
    "INSERT INTO insights_indexeditem_fts(rowid, text, tags) "  # noqa: S608
    f"VALUES (new.id, new.text, {_TAGS.format(row='new')});"
)
_DELETE = (
    "INSERT INTO insights_indexeditem_fts(insights_indexeditem_fts, rowid, text, tags) "  # noqa: S608
    f"VALUES ('delete', old.id, old.text, {_TAGS.format(row='old')});"
)

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE insights_indexeditem_fts USING fts5("
    "text, tags, content='', detail=column, "
    "tokenize=\"unicode61 remove_diacritics 0 tokenchars '._''-'\")",
    "CREATE VIRTUAL TABLE insights_indexeditem_vocab "
    "USING fts5vocab(insights_indexeditem_fts, 'col')",
    f"CREATE TRIGGER insights_indexeditem_fts_insert AFTER INSERT ON insights_indexeditem "
    f"BEGIN {_INSERT} END",
    f"CREATE TRIGGER insights_indexeditem_fts_delete AFTER DELETE ON insights_indexeditem "
    f"BEGIN {_DELETE} END",
    "CREATE TRIGGER insights_indexeditem_fts_update AFTER UPDATE ON insights_indexeditem "
    "WHEN old.text IS NOT new.text OR old.kind IS NOT new.kind "
    f"OR old.is_open IS NOT new.is_open BEGIN {_DELETE} {_INSERT} END",
    # Items written before this migration.
    "INSERT INTO insights_indexeditem_fts(rowid, text, tags) "  # noqa: S608
    f"SELECT id, text, {_TAGS.format(row='insights_indexeditem')} FROM insights_indexeditem",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS insights_indexeditem_fts_update",
    "DROP TRIGGER IF EXISTS insights_indexeditem_fts_delete",
    "DROP TRIGGER IF EXISTS insights_indexeditem_fts_insert",
    "DROP TABLE IF EXISTS insights_indexeditem_vocab",
    "DROP TABLE IF EXISTS insights_indexeditem_fts",
]
POSTGRES_CREATE = [
    "CREATE INDEX IF NOT EXISTS insights_indexeditem_search "
    "ON insights_indexeditem USING GIN (to_tsvector('simple', text))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS insights_indexeditem_search"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("insights", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
