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

from django.db import connection, transaction

from healthboard.lib.idranges import spread_thin


def keys_lock(table: str, ids: Iterable[int]) -> set[int]:
    """Lock the rows of `table` with these ids against deletion until the transaction ends,
    and return the ids that exist. On SQLite, whose writers take turns, the rows are only
    read. One query."""
    wanted = sorted({int(pk) for pk in ids})
    if not wanted:
        return set()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                f"SELECT id FROM {table} WHERE id IN (SELECT value FROM json_each(%s))",
                [json.dumps(wanted)],
            )
            return {pk for (pk,) in cursor.fetchall()}
        if spread_thin(wanted):
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE",
                ["{" + ",".join(map(str, wanted)) + "}"],
            )
            return {pk for (pk,) in cursor.fetchall()}
        # Ids close together (a chunk of a run, a batch of an import): the rows between them
        # are locked too, by one walk of the index; looked up one by one, each id cost a
        # descent of it (8–18 ms for 5,000 ids against 3–4 ms). A delete of a row in between
        # only waits for the caller's commit.
        cursor.execute(
            f"SELECT id FROM {table} WHERE id BETWEEN %s AND %s ORDER BY id FOR KEY SHARE",
            [wanted[0], wanted[-1]],
        )
        return {pk for (pk,) in cursor.fetchall()}.intersection(wanted)


def keys_lock_selected(table: str, ids_sql: str) -> None:
    """keys_lock for the ids an SQL query selects (one column; a temporary table's, say),
    without reading them into Python: the rules lock the tens of thousands of accounts they
    open CTAs for. Nothing on SQLite. One query."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Sorted, as keys_lock's: two writers locking overlapping sets cannot deadlock.
        cursor.execute(f"SELECT 1 FROM {table} WHERE id IN ({ids_sql}) ORDER BY id FOR KEY SHARE")


def delete_lock(model, pk: int, using: str) -> None:
    """Before deleting (or changing what refers to) the row: take its lock (FOR UPDATE),
    waiting for any writer that locked it with keys_lock, so that what the delete then
    finds (Django's on_delete of the tables without database foreign keys) includes what
    that writer committed. From a pre_delete (or pre_save) receiver, inside the delete's
    transaction; outside one (a save in autocommit mode) the lock only waits."""
    with transaction.atomic(using=using):
        list(model.objects.using(using).select_for_update().filter(pk=pk).values_list("pk"))
