"""Many rows as numpy columns, in one query.

The journey board and the weekly review summarise every account of a run: 100,000 rows at
scale. Turning that many rows into Python tuples costs more than the database's own work,
and grouping them in SQL costs a hash join per run. Instead, PostgreSQL packs each column
into one binary string (string_agg of int8send, float8send, …), which numpy reads without
a loop, and the grouping is numpy's. Other databases (SQLite in development) fetch the
rows: the same columns, slower.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

INT = "int"
FLOAT = "float"
DATE = "date"
# Not a column: the smallest or largest value of an integer field (NO_INT without rows).
LOWEST = "lowest"
HIGHEST = "highest"

# What a missing value reads as: ids are positive, no date is this far back.
NO_INT = -1
NO_DATE = np.iinfo(np.int32).min
EPOCH = dt.date(1970, 1, 1)

# PostgreSQL: each kind's big-endian encoding of one value, NULLs replaced.
_SEND = {
    INT: ("int8send(coalesce({}::bigint, %s))", ">i8", NO_INT),
    FLOAT: ("float8send(coalesce({}::double precision, 'NaN'))", ">f8", None),
    DATE: ("int4send(coalesce(({} - DATE '1970-01-01')::integer, %s))", ">i4", NO_DATE),
}
_EXTREME = {LOWEST: "min", HIGHEST: "max"}


def columns_of(qs: QuerySet, **kinds: str) -> dict:
    """The values of `qs` as columns: name → array (int64, float64 with NaN for NULL, or
    dates as int64 days since 1970-01-01, NO_DATE for NULL). `kinds` maps each field or
    annotation of `qs` to INT, FLOAT or DATE, or to LOWEST or HIGHEST for one value (an
    int) instead of a column; rows come in no particular order. One query."""
    names = list(kinds)
    if connection.vendor == "postgresql":
        return _packed(qs, kinds)
    rows = list(qs.order_by().values_list(*names))
    columns = {}
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        if kinds[name] in (LOWEST, HIGHEST):
            pick = min if kinds[name] == LOWEST else max
            columns[name] = pick(values) if values else NO_INT
        else:
            columns[name] = _column(values, kinds[name])
    return columns


def float_rows(cursor, sql: str, params, width: int) -> np.ndarray:
    """The rows of a raw query of `width` numeric columns as a float64 matrix (NULL as NaN),
    executed on `cursor`. On PostgreSQL the rows come packed, one binary string a column:
    the chunks of the nightly run read 80,000 aggregated rows each, and writing them as text,
    parsing them into Python tuples and those into numpy cost more CPU than the aggregation."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)
    aliases = [f"c{i}" for i in range(width)]
    packed = ", ".join(
        f"string_agg(float8send(coalesce(t.{alias}::double precision, 'NaN')), '')"
        for alias in aliases
    )
    cursor.execute(f"SELECT {packed} FROM ({sql}) AS t ({', '.join(aliases)})", params)
    columns = [np.frombuffer(bytes(blob or b""), dtype=">f8") for blob in cursor.fetchone()]
    return np.column_stack(columns).astype(np.float64)


def days_of(day: dt.date) -> int:
    """A date as the DATE columns hold it."""
    return (day - EPOCH).days


def _packed(qs: QuerySet, kinds: dict[str, str]) -> dict[str, np.ndarray]:
    names = list(kinds)
    try:
        sql, params = qs.order_by().values_list(*names).query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing (e.g. an empty __in)
        return {
            name: _column([], kind) if kind in _SEND else NO_INT for name, kind in kinds.items()
        }
    aliases = [f"c{i}" for i in range(len(names))]
    selects, extra = [], []
    for alias, name in zip(aliases, names, strict=True):
        if kinds[name] in _EXTREME:
            selects.append(f"{_EXTREME[kinds[name]]}(t.{alias})")
            continue
        template, _dtype, missing = _SEND[kinds[name]]
        selects.append(f"string_agg({template.format('t.' + alias)}, '')")
        if missing is not None:
            extra.append(missing)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(selects)} FROM ({sql}) AS t ({', '.join(aliases)})",
            [*extra, *params],
        )
        packed = cursor.fetchone()
    columns = {}
    for name, blob in zip(names, packed, strict=True):
        if kinds[name] in _EXTREME:
            columns[name] = NO_INT if blob is None else int(blob)
            continue
        _template, dtype, _missing = _SEND[kinds[name]]
        wide = np.float64 if kinds[name] == FLOAT else np.int64
        columns[name] = np.frombuffer(bytes(blob or b""), dtype=dtype).astype(wide)
    return columns


def _column(values: list, kind: str) -> np.ndarray:
    if kind == FLOAT:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if kind == DATE:
        return np.array(
            [NO_DATE if v is None else days_of(_date(v)) for v in values], dtype=np.int64
        )
    return np.array([NO_INT if v is None else int(v) for v in values], dtype=np.int64)


def _date(value) -> dt.date:
    # Raw values on SQLite may be text.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
