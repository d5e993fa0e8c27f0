"""The import benchmark: a signals CSV of N rows through the real import (the same call the
command and the upload page make), on PostgreSQL.

The accounts (IMPORTBENCH-…) are generated inside PostgreSQL; the CSV is written to a
temporary file a row at a time. Half of the rows carry an external id, half none, so both
ways of recognising a re-sent signal are exercised; every row is distinct. The re-score
hand-off after the commit is left out (see rescores_muted). The figures:
signals per second for a first import and for the same file again (all rows already
stored), and peak RSS after a file a quarter of the size and after the full one (memory
is flat when the two are close); the CPU seconds of this process and of its PostgreSQL
backend, which say what an import costs on a machine busy with other work.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from accounts.imports import ImportOptions, ImportResult, import_run
from accounts.partitions import signal_partitions_ensure
from accounts.signals import signals_ingested

PREFIX = "IMPORTBENCH-"
SOURCE = "importbench"
METRICS = ("logins", "active_users", "csat", "nps", "support_tickets", "email_open_rate")


# How far back the file's signals start.
HISTORY = dt.timedelta(days=400)


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("The import benchmark runs on PostgreSQL: set DATABASE_URL.")


def ensure_accounts(*, accounts: int) -> None:
    """IMPORTBENCH-0000001 … as many as asked (created inside PostgreSQL when missing), and
    the months of the file's signals (HISTORY back: accounts.partitions)."""
    signal_partitions_ensure(since=(dt.datetime.now(dt.UTC) - HISTORY).date())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_account WHERE external_id LIKE %s", [PREFIX + "%"]
        )
        if cursor.fetchone()[0] >= accounts:
            return
        cursor.execute("SELECT min(id) FROM accounts_segment")
        segment = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM accounts_journeystage")
        stage = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO accounts_account (name, external_id, segment_id, industry, arr, plan,
                seats, start_date, stage_id, stage_since, status)
            SELECT 'Import bench ' || g, %s || lpad(g::text, 7, '0'), %s, '', 0, '', 10,
                   current_date - 400, %s, current_date - 400, 'active'
            FROM generate_series(1, %s) AS g
            ON CONFLICT (external_id) DO NOTHING
            """,
            [PREFIX, segment, stage, accounts],
        )


def clear_signals(source: str = SOURCE) -> int:
    """Forget the signals an earlier round imported (the accounts stay), and vacuum them
    away: every round starts from the same table, not from a million dead rows whose index
    entries the next import would wade through (its PostgreSQL time varied 10–18 s).
    VACUUM cannot run in a transaction: inside one (the benchmarks' tests) it is left out,
    as timings do not matter there."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_signal WHERE source = %s", [source])
        deleted = cursor.rowcount
        if not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE) accounts_signal")
    return deleted


def write_signals_csv(path: Path, *, rows: int, accounts: int) -> int:
    """A signals file of `rows` distinct rows over `accounts` accounts; returns its size."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - HISTORY
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["account", "metric", "observed_at", "value", "category", "external_id"])
        for i in range(rows):
            when = start + dt.timedelta(seconds=17 * i)
            writer.writerow(
                [
                    f"{PREFIX}{1 + (i * 7919) % accounts:07d}",
                    METRICS[i % len(METRICS)],
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    (i * 37) % 1000 / 10,
                    "" if i % 5 else "usage",
                    f"ev-{i}" if i % 2 else "",
                ]
            )
    return path.stat().st_size


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def rescores_muted():
    """The import alone: no receiver hears `signals_ingested` (without Redis, scoring would
    re-score every touched account inside the import; with it, queue one task each)."""
    receivers = list(signals_ingested.receivers)
    signals_ingested.receivers.clear()
    signals_ingested.sender_receivers_cache.clear()
    try:
        yield
    finally:
        signals_ingested.receivers[:] = receivers
        signals_ingested.sender_receivers_cache.clear()


def backend_cpu_seconds() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far, when it runs on this
    machine (Linux): with the process's own, what an import cost on a busy machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [(pid,)] = cursor.fetchall()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_import(path: Path) -> tuple[ImportResult, float, dict[str, float]]:
    backend = backend_cpu_seconds()
    cpu = time.process_time()
    started = time.perf_counter()
    with open(path, "rb") as file, rescores_muted():
        result = import_run(
            kind="signals",
            file=file,
            options=ImportOptions(source=SOURCE),
            file_name=path.name,
            file_size=path.stat().st_size,
        )
    seconds = time.perf_counter() - started
    used = {"python": round(time.process_time() - cpu, 2)}
    if backend is not None:
        used["postgres"] = round(backend_cpu_seconds() - backend, 2)
    if not result.ok:
        raise RuntimeError(f"The benchmark import was refused: {result.message}")
    return result, seconds, used


def run(
    *,
    rows: int = 1_000_000,
    accounts: int = 10_000,
    directory: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, object]:
    """Import a `rows`-row signals CSV twice (new, then all already stored), after a file a
    quarter of its size; returns the figures (JSON-ready)."""
    _require_postgres()
    ensure_accounts(accounts=accounts)
    figures: dict[str, object] = {"rows": rows, "accounts": accounts}
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        small, large = Path(tmp) / "signals-small.csv", Path(tmp) / "signals.csv"
        small_rows = max(1, rows // 4)
        write_signals_csv(small, rows=small_rows, accounts=accounts)
        figures["csv_mb"] = round(write_signals_csv(large, rows=rows, accounts=accounts) / 2**20, 1)
        progress(f"CSV files written ({small_rows:,} and {rows:,} rows, {figures['csv_mb']} MB).")

        clear_signals()
        result, seconds, _ = _timed_import(small)
        figures["small_rows"] = small_rows
        figures["peak_rss_mb_small_file"] = round(peak_rss_mb(), 1)
        progress(f"{small_rows:,} rows: {result.created:,} stored in {seconds:.1f} s.")

        clear_signals()
        result, seconds, used = _timed_import(large)
        assert result.created == rows, result.summary()
        figures["csv_cpu_s"] = used
        figures["csv_seconds"] = round(seconds, 2)
        figures["csv_signals_per_s"] = round(rows / seconds)
        figures["csv_steps_s"] = result.timings
        figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
        progress(f"{rows:,} rows: {result.created:,} stored in {seconds:.1f} s.")

        result, seconds, used = _timed_import(large)
        figures["resent_cpu_s"] = used
        assert result.created == 0 and result.unchanged == rows, result.summary()
        figures["resent_seconds"] = round(seconds, 2)
        figures["resent_signals_per_s"] = round(rows / seconds)
        figures["resent_steps_s"] = result.timings
        figures["peak_rss_mb_after_resend"] = round(peak_rss_mb(), 1)
        progress(f"The same {rows:,} rows again: nothing new, in {seconds:.1f} s.")
    figures["pid"] = os.getpid()
    return figures
