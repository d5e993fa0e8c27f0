"""A foreign key's check, once for a set of rows instead of once per row.

Tables written by the hundred thousand (signals, a day's scores) have no database foreign
keys: PostgreSQL checks a key one row at a time, a few microseconds each, which was a fifth of
writing a day's scores. Their writers call keys_lock for the rows they refer to instead; a
delete of a referenced row waits for the writer's commit (FOR KEY SHARE, the lock the check
takes), and the deletes (Django's on_delete) then find the new rows too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection


def keys_lock(table: str, ids: Iterable[int]) -> set[int]:
    """Lock the rows of `table` with these ids against deletion until the transaction ends,
    and return the ids that exist. On SQLite, whose writers take turns, the rows are only
    read. One query."""
    wanted = sorted({int(pk) for pk in ids})
    if not wanted:
        return set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE",
                ["{" + ",".join(map(str, wanted)) + "}"],
            )
        else:
            cursor.execute(
                f"SELECT id FROM {table} WHERE id IN (SELECT value FROM json_each(%s))",
                [json.dumps(wanted)],
            )
        return {pk for (pk,) in cursor.fetchall()}
