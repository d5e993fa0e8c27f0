"""Many rows into a query at once: a temporary table filled by COPY on PostgreSQL (by
executemany elsewhere), which the statement then joins. Binding 100,000 rows as parameters
costs more in the driver than the statement does in the database."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


def stage(cursor, name: str, columns: list[tuple[str, str]], rows: Iterable[tuple]) -> None:
    """Fill temporary table `name` (columns: name, SQL type) with `rows`, replacing the one
    this connection may hold from an earlier call."""
    pg = connection.vendor == "postgresql"
    # Schema-qualified: never a permanent table of the same name.
    cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.{name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    names = ", ".join(c for c, _ in columns)
    if pg:
        with cursor.cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Temporary tables are never analysed by autovacuum: without row counts the planner
        # joins 100,000 staged rows as if they were a handful.
        cursor.execute(f"ANALYZE {name}")
        return
    marks = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", list(rows))
