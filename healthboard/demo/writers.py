"""The demo's bulk writes: COPY on PostgreSQL, executemany elsewhere, in the caller's
transaction; emptying the demo's rows and loading the signal table without its indexes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from django.db import connection

from accounts.models import Account, Note, Signal, StageChange
from healthboard.demo.plan import ACCOUNT_PREFIX
from healthboard.demo.simulation import METRIC_KEYS, SignalColumns
from healthboard.demo.texts import STRING_TABLE

SIGNAL_SOURCE = "demo"


def demo_accounts():
    """The accounts the demo wrote (and --reset deletes)."""
    return Account.objects.filter(external_id__startswith=ACCOUNT_PREFIX)


class BulkWriter:
    """Bulk writes: COPY on PostgreSQL, executemany elsewhere, in the caller's transaction."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.postgres = connection.vendor == "postgresql"

    @staticmethod
    def _columns(model, fields: list[str]) -> tuple[str, str]:
        names = ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
        )
        return connection.ops.quote_name(model._meta.db_table), names

    def timestamp(self, epoch: int) -> str:
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
        return text + "+00" if self.postgres else text

    def insert(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        table, columns = self._columns(model, fields)
        if self.postgres:
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def account_ids(self, first: str, last: str) -> dict[str, int]:
        return dict(
            Account.objects.filter(external_id__gte=first, external_id__lte=last)
            .filter(external_id__startswith=ACCOUNT_PREFIX)
            .values_list("external_id", "id")
        )


class SignalSink:
    """`with SignalSink(metric_ids, say) as write:` write(account_ids, ext_ids, columns)
    writes one chunk's signals: one COPY for all chunks on PostgreSQL, executemany per chunk
    elsewhere. metric_ids are the database ids in METRIC_KEYS order."""

    FIELDS = [
        "account",
        "metric",
        "observed_at",
        "value",
        "category",
        "text",
        "source",
        "external_id",
    ]

    def __init__(self, metric_ids: np.ndarray, say: Callable[[str], None]) -> None:
        self.metric_ids = metric_ids
        self.say = say
        self.table, self.columns = BulkWriter._columns(Signal, self.FIELDS)
        self._cursor = self._context = self._copy = None

    def __enter__(self):
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            self._cursor = connection.connection.cursor()
            # A writer thread sends the data while the next chunk is generated.
            self._context = self._cursor.copy(
                f"COPY {self.table} ({self.columns}) FROM STDIN",
                writer=QueuedLibpqWriter(self._cursor),
            )
            self._copy = self._context.__enter__()
        return self.write

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._context is None:
            return
        try:
            started = time.perf_counter()
            self._context.__exit__(exc_type, exc, traceback)
            if exc_type is None:
                self.say(
                    f"  COPY finished ({time.perf_counter() - started:.1f} s after the last row)"
                )
        finally:
            self._cursor.close()

    def write(self, account_ids: np.ndarray, ext_ids: list[str], columns: SignalColumns) -> int:
        """Write a chunk's signals; columns.acct indexes the chunk's account_ids and ext_ids."""
        metric, acct, when, value, category, text, seq = columns
        if acct.size == 0:
            return 0
        account_ids = account_ids[acct].tolist()
        metric_ids = self.metric_ids[metric].tolist()
        stamps = np.datetime_as_string(when.astype("datetime64[s]"), unit="s")
        stamps = np.strings.replace(stamps, "T", " ").tolist()
        values = value.tolist()
        categories = STRING_TABLE[category].tolist()
        texts = STRING_TABLE[text].tolist()
        # External ids: "demo-<account>-<metric>-<n>", the prefix once per account and metric.
        starts = np.flatnonzero(np.r_[True, (acct[1:] != acct[:-1]) | (metric[1:] != metric[:-1])])
        prefixes = np.repeat(
            np.array(
                [
                    f"{SIGNAL_SOURCE}-{ext_ids[a]}-{METRIC_KEYS[m]}-"
                    for a, m in zip(acct[starts].tolist(), metric[starts].tolist(), strict=True)
                ],
                dtype=object,
            ),
            np.diff(np.r_[starts, acct.size]),
        ).tolist()
        numbers = seq.tolist()
        if self._copy is not None:
            # Our strings hold no tab, newline or backslash: no COPY escaping needed.
            data = "".join(
                [
                    f"{a}\t{m}\t{t}+00\t{v}\t{c}\t{x}\t{SIGNAL_SOURCE}\t{p}{n}\n"
                    for a, m, t, v, c, x, p, n in zip(
                        account_ids,
                        metric_ids,
                        stamps,
                        values,
                        categories,
                        texts,
                        prefixes,
                        numbers,
                        strict=True,
                    )
                ]
            )
            self._copy.write(data.encode())
        else:
            marks = ", ".join(["%s"] * len(self.FIELDS))
            ext_ids = [f"{p}{n}" for p, n in zip(prefixes, numbers, strict=True)]
            rows = list(
                zip(
                    account_ids,
                    metric_ids,
                    stamps,
                    values,
                    categories,
                    texts,
                    [SIGNAL_SOURCE] * len(values),
                    ext_ids,
                    strict=True,
                )
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", rows
                )
        return acct.size


@contextmanager
def sqlite_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """SQLite's default 2 MB page cache halves the insert rate into the indexed signal table:
    use a bigger one for this connection while generating."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def delete_demo_accounts() -> tuple[int, list[str]]:
    """Delete the demo accounts and what hangs off them: (accounts deleted, the statements
    that rebuild the signal table's indexes if they were dropped to empty it quickly)."""
    ids = demo_accounts().values("id")
    rebuild = []
    if _only_demo_signals():
        # Empty the whole table, without its indexes: much faster, and no dead rows left
        # behind for the bulk load that follows.
        rebuild = drop_signal_indexes()
        table = connection.ops.quote_name(Signal._meta.db_table)
        with connection.cursor() as cursor:
            verb = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
            cursor.execute(f"{verb} {table}")
    else:
        Signal.objects.filter(account_id__in=ids).delete()
    Note.objects.filter(account_id__in=ids).delete()
    StageChange.objects.filter(account_id__in=ids).delete()
    deleted, per_model = demo_accounts().delete()  # the rest (e.g. scores) cascades
    return per_model.get(Account._meta.label, 0), rebuild


def _only_demo_signals() -> bool:
    """Every account is a demo account, and no other table refers to signals."""
    referred = any(
        field.is_relation and field.auto_created and not field.concrete
        for field in Signal._meta.get_fields()
    )
    return (
        not referred
        and not Account.objects.exclude(external_id__startswith=ACCOUNT_PREFIX).exists()
    )


def drop_signal_indexes() -> list[str]:
    """Drop the signal table's secondary indexes (and on PostgreSQL its unique and foreign
    key constraints) before a bulk load into the empty table; return what rebuilds them.

    PostgreSQL's "Populating a Database" advice: building an index once over all rows is
    2-3 times faster than updating it row by row (SQLite likewise). The DDL is part of the
    transaction, so a failure rolls it back too; the table stays locked until COMMIT.
    """
    quote = connection.ops.quote_name
    table = Signal._meta.db_table
    drop, restore = [], []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') "
                "ORDER BY contype DESC, conname",
                [table],
            )
            for name, definition in cursor.fetchall():
                drop.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                restore.append(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
                )
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
                "WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) "
                "ORDER BY c.relname",
                [table],
            )
        elif connection.vendor == "sqlite":
            # Indexes only: the unique constraint is part of the table's definition.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
        else:
            return []
        indexes = cursor.fetchall()
        drop += [f"DROP INDEX {quote(name)}" for name, _definition in indexes]
        for statement in drop:
            cursor.execute(statement)
    # Indexes first, then the unique constraint, then the foreign keys. A partitioned
    # table's index reads "ON ONLY" (the parent alone): rebuilt, it must cover every month.
    return [definition.replace(" ON ONLY ", " ON ", 1) for _name, definition in indexes] + restore


def rebuild_signal_indexes(statements: list[str], say: Callable[[str], None]) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for statement in statements:
            cursor.execute(statement)
    say(
        f"  rebuilt {len(statements)} indexes and constraints of the signal table in "
        f"{time.perf_counter() - started:.1f} s"
    )
