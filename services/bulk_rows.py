"""Many rows into one table in one statement, without building an ORM object per row
(issue 19): what the importer and the search index write by the thousand.

* PostgreSQL: ``INSERT ... SELECT * FROM unnest($1::type[], $2::type[], ...)`` — one
  round trip and one statement, whatever the number of rows.
* SQLite: one ``executemany`` of a prepared ``INSERT`` (in-process, no round trips).

The values must already be what the column stores (ints, strings, aware datetimes,
JSON as text); the caller names each column's PostgreSQL type for ``unnest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def insert_rows(conn: Any, table: str, columns: Sequence[tuple[str, str]],
                      rows: Sequence[Sequence[Any]], *, ignore_conflicts: bool = False
                      ) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``: (name, PostgreSQL type)) into
    ``table`` through ``conn`` (a tortoise client or transaction) in one statement;
    ``ignore_conflicts`` skips rows that break a unique constraint."""
    if not rows:
        return
    names = ", ".join(_quoted(name) for name, _ in columns)
    if conn.capabilities.dialect == "postgres":
        arrays = ", ".join(f"${i}::{pg_type}[]" for i, (_, pg_type) in enumerate(columns, 1))
        sql = (f"INSERT INTO {_quoted(table)} ({names}) SELECT * FROM unnest({arrays})"
               + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
        await conn.execute_query(sql, [list(col) for col in zip(*rows, strict=True)])
        return
    marks = ", ".join("?" for _ in columns)
    sql = (f"INSERT {'OR IGNORE ' if ignore_conflicts else ''}INTO {_quoted(table)} "
           f"({names}) VALUES ({marks})")
    await conn.execute_many(sql, rows)
