"""PostgreSQL: the similarity and search index keeps its tsvector (docs/insights.md, docs/search.md).

The GIN index of 0003 was over the expression ``to_tsvector('simple', text)``: it finds the
matching rows, but ranking them (``ts_rank_cd``) re-analysed each matching row's text at query
time, which at a million items cost tens of milliseconds for common words. A stored generated
column ``search_vector`` is analysed once, on write, and indexed instead. SQLite is unchanged
(its FTS5 table already stores the analysed terms).
"""

from typing import Any

from django.db import migrations

POSTGRES_FORWARD = [
    "ALTER TABLE insights_indexeditem ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED",
    "CREATE INDEX IF NOT EXISTS insights_indexeditem_vector "
    "ON insights_indexeditem USING GIN (search_vector)",
    "DROP INDEX IF EXISTS insights_indexeditem_search",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS insights_indexeditem_search "
    "ON insights_indexeditem USING GIN (to_tsvector('simple', text))",
    "DROP INDEX IF EXISTS insights_indexeditem_vector",
    "ALTER TABLE insights_indexeditem DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("insights", "0004_deflection")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
