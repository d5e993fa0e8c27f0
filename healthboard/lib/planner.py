"""Hints to PostgreSQL's planner for one query, where its estimates are known to mislead it."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection

SETTING = "max_parallel_workers_per_gather"


@contextmanager
def serial_plan():
    """Run the queries inside without parallel workers (PostgreSQL; elsewhere nothing).

    For a page of rows read in index order (ORDER BY … LIMIT 50): split between parallel
    workers, each worker walks its own part of the index and the merge waits for all of
    them, so they read thousands of rows to return fifty. Measured on a CSM's portfolio at
    1,000,000 accounts: 20,000 rows and 100–140 ms in parallel, 111 rows and 1.5 ms alone.

    Two queries: the setting is read and set in one, put back in the other. Set for the
    session, not the transaction, and put back when the block ends, so that it never
    outlives the block (a request outside a transaction keeps its connection for the next).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT current_setting('{SETTING}'), set_config('{SETTING}', '0', false)")
        previous = cursor.fetchone()[0]
    try:
        yield
    except BaseException:
        # Inside a transaction a failed query leaves it aborted (no query runs until the
        # rollback, which puts the setting back); outside one, nothing else will.
        if not connection.in_atomic_block:
            _set(previous)
        raise
    _set(previous)


def _set(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT set_config('{SETTING}', %s, false)", [value])
