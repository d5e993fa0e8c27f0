"""The fast way in for a signals file with nothing wrong in it: its rows go straight into
the signals table, one streamed COPY per stretch of the file, parsed while PostgreSQL
writes the rows before them (Python on one core, the database on another), in one
transaction.

Optimistic, and always safe: anything unusual ends the attempt and rolls it back, and the
import starts again on the staged path (accounts.imports.pipeline), which reports every bad
row and de-duplicates. The outcome is the same either way: a file written here had no bad
row, no duplicate and no row already stored, which is exactly when the staged path writes
every row. What ends an attempt:

- a row the checks refuse (an unknown account, a bad date …);
- a row whose (source, external id) is stored already, or repeated in the file: the unique
  index refuses the COPY;
- a row without an external id that repeats a stored signal, or another row of the file:
  looked for among the new rows once they are all in, before the commit.

Only on PostgreSQL, for a file that can be rewound or rows given as a list, into a database
of at most ACCOUNT_CACHE_MAX accounts (looked up once, so that no batch queries in the
middle of a COPY). Inside a caller's transaction the attempt is a savepoint; the job's
progress is written on a connection of its own (the import's transaction holds its rows
until the end), which sees the job when it was committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import islice

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from accounts.imports.kinds import Counts
from accounts.imports.kinds.signals import ACCOUNT, METRIC, SIGNAL, SignalsKind, lock_referenced
from accounts.imports.options import ImportOptions, Limits
from accounts.models import ImportJob

logger = logging.getLogger(__name__)

# Rows per COPY: between two COPYs the job's progress is written.
STRETCH_ROWS = 100_000
COPY_TYPES = ("int8", "int8", "timestamptz", "float8", "text", "text", "text", "text")


class Fallback(Exception):
    """The file cannot go in directly; the staged path will import it (the reason)."""


def possible(*, kind: str, options: ImportOptions, file=None) -> bool:
    """Whether to try: signals on PostgreSQL, all or nothing, from a file that can be
    rewound (or rows given as a list, read again as easily)."""
    return (
        kind == SignalsKind.name
        and connection.vendor == "postgresql"
        and not options.skip_bad_rows
        and (file is None or _seekable(file))
    )


def _seekable(file) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def write(
    *,
    handler: SignalsKind,
    rows: Iterator[tuple[int, list[str]]],
    limits: Limits,
    job: ImportJob | None,
    counted: Callable[[int], None],
    bytes_read: Callable[[], int],
    in_memory: bool = False,
) -> Counts:
    """Parse and write every row in one transaction; Fallback (rolled back) when the file
    cannot go in directly. `counted(rows_read)` is called after every batch."""
    if in_memory:
        # Rows given as a list (an API batch): their own accounts, looked up at once.
        rows = list(rows)
        handler.accounts_preload(batch=rows)
    elif not handler.accounts_preload():
        raise Fallback("too many accounts to look up at once")
    rows = iter(rows)
    progress = _SideProgress(job)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Imports of signals queue here (the staged path's write takes the same lock).
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.imports.signals'))")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {SIGNAL}")
            [(before,)] = cursor.fetchall()
            accounts, metrics, read = set(), set(), 0
            sql = f"COPY {SIGNAL} ({SignalsKind.COLUMNS}) FROM STDIN (FORMAT BINARY)"
            while True:
                stretch = 0
                with cursor.cursor.copy(sql) as copy:
                    copy.set_types(COPY_TYPES)
                    put = copy.write_row
                    while stretch < STRETCH_ROWS and (
                        batch := list(islice(rows, limits.batch_rows))
                    ):
                        staged, bad = handler.parse(batch)
                        if bad:
                            raise Fallback(f"row {bad[0].row} has a problem")
                        for row in staged:
                            put(row[1:])
                        accounts.update(row[1] for row in staged)
                        metrics.update(row[2] for row in staged)
                        stretch += len(batch)
                        read += len(batch)
                        counted(read)
                progress.update(read, bytes_read())
                if stretch < STRETCH_ROWS:
                    break
            # A planner that takes the table for empty (a first import) would have it
            # scanned whole once per new row: fresh statistics then, which a table already
            # larger than what was just written does not need.
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [SIGNAL])
            if cursor.fetchall()[0][0] < read:
                cursor.execute(f"ANALYZE {SIGNAL}")
            cursor.execute(
                f"""
                SELECT n.id FROM {SIGNAL} n
                WHERE n.id > %s AND n.external_id IS NULL AND EXISTS (
                    SELECT 1 FROM {SIGNAL} o
                    WHERE o.account_id = n.account_id AND o.observed_at = n.observed_at
                      AND o.metric_id = n.metric_id AND o.value = n.value
                      AND o.source = n.source AND o.external_id IS NULL AND o.id <> n.id)
                LIMIT 1
                """,
                [before],
            )
            if cursor.fetchall():
                raise Fallback(
                    "a row without an external id is stored already, or twice in the file"
                )
            lock_referenced(ACCOUNT, accounts, "account(s)")
            lock_referenced(METRIC, metrics, "metric(s)")
    except psycopg.errors.UniqueViolation as exc:
        raise Fallback("an external id is stored already, or twice in the file") from exc
    finally:
        progress.close()
    return Counts(created=read, unchanged=0, accounts=accounts)


class _SideProgress:
    """The job's progress, written on a connection of its own: the import's transaction
    holds its rows until the end, and a page polling the job should see them counted."""

    def __init__(self, job: ImportJob | None) -> None:
        self.job = job
        self.connection = None

    def update(self, rows_read: int, bytes_read: int) -> None:
        if self.job is None:
            return
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_read = %s, bytes_read = %s "
                "WHERE id = %s",
                [rows_read, bytes_read, self.job.pk],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
