"""A temporary table per import: checked rows wait there, batch by batch, so memory stays
flat whatever the file's size; the checks that need the whole file (duplicates) and the
write itself are then one set-based SQL statement each.

PostgreSQL loads each batch with COPY; SQLite (development) with executemany, slower but
the same SQL after that.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connection


class Staging:
    """A temporary table with the given (name, SQL type) columns; the first is row_no."""

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.name = f"import_stage_{uuid.uuid4().hex[:12]}"
        self.columns = list(columns)
        self.names = [name for name, _ in columns]
        self.rows = 0
        self._postgres = connection.vendor == "postgresql"
        self._adapters = None if self._postgres else _sqlite_adapters(self.columns)
        self._copy_types = [_COPY_TYPES.get(t, t) for t in (_base(t) for _, t in self.columns)]

    def __enter__(self) -> Staging:
        spec = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({spec})")
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        except Exception:
            # A broken connection is closed by Django, and its temporary table with it.
            if exc_info[0] is None:
                raise

    def load(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if self._postgres:
                # Binary COPY with the column types declared: the driver's C code writes each
                # row without looking at the values' Python types (several times faster).
                sql = f"COPY {self.name} ({', '.join(self.names)}) FROM STDIN (FORMAT BINARY)"
                with cursor.cursor.copy(sql) as copy:
                    copy.set_types(self._copy_types)
                    write = copy.write_row
                    for row in rows:
                        write(row)
            else:
                adapt = self._adapters
                marks = ", ".join(["%s"] * len(self.names))
                cursor.executemany(
                    f"INSERT INTO {self.name} VALUES ({marks})",
                    [
                        tuple(
                            f(v) if f and v is not None else v
                            for f, v in zip(adapt, row, strict=True)
                        )
                        for row in rows
                    ],
                )
        self.rows += len(rows)

    def analyze(self) -> None:
        """Fresh statistics for the planner: the checks and the write join this table."""
        if self._postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {self.name}")

    def delete_rows(self, row_numbers: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(row_numbers), 1000):
                chunk = list(row_numbers[start : start + 1000])
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {self.name} WHERE row_no IN ({marks})", chunk)
                self.rows -= cursor.rowcount

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run SQL with {stage} standing for this table; return its rows."""
        with connection.cursor() as cursor:
            cursor.execute(sql.format(stage=self.name), params)
            return cursor.fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run SQL with {stage} standing for this table; return the rows it changed."""
        with connection.cursor() as cursor:
            cursor.execute(sql.format(stage=self.name), params)
            return cursor.rowcount


# The binary COPY's names of the staged columns' SQL types.
_COPY_TYPES = {
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "double precision": "float8",
}


def _base(sql_type: str) -> str:
    """ "numeric(14, 2)" → "numeric"."""
    return sql_type.split("(")[0].strip()


def is_distinct(a: str, b: str) -> str:
    """SQL that is true when a and b differ, NULLs included."""
    if connection.vendor == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    return f"{a} IS NOT {b}"


def _sqlite_adapters(columns: Sequence[tuple[str, str]]) -> list:
    # SQLite stores dates, date-times and decimals as Django's SQLite backend writes them,
    # so the staged values compare equal to the stored ones.
    ops = connection.ops
    adapters = {
        "timestamptz": ops.adapt_datetimefield_value,
        "date": ops.adapt_datefield_value,
        "numeric": lambda v: str(v),
    }
    return [adapters.get(_base(sql_type)) for _, sql_type in columns]
