"""Hints to PostgreSQL's planner for one query, where its estimates are known to mislead it."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection

SETTING = "max_parallel_workers_per_gather"

# Each hash table of a whole run's rows, at a million accounts: about 65 MB.
RUN_WORK_MEM = "96MB"


@contextmanager
def serial_plan():
    """Run the queries inside without parallel workers (PostgreSQL; elsewhere nothing).

    For a page of rows read in index order (ORDER BY … LIMIT 50): split between parallel
    workers, each worker walks its own part of the index and the merge waits for all of
    them, so they read thousands of rows to return fifty. Measured on a CSM's portfolio at
    1,000,000 accounts: 20,000 rows and 100–140 ms in parallel, 111 rows and 1.5 ms alone.
    """
    with planner_settings(**{SETTING: "0"}):
        yield


@contextmanager
def new_run_plan(**more: str):
    """Run the queries inside with hash joins and hash aggregates, in memory (PostgreSQL;
    elsewhere nothing), for queries over all the rows of a run just written.

    The table's statistics do not know a run until the next ANALYZE, so the planner takes
    its rows for one: it joins them to their accounts one index probe at a time and groups
    them by a sort that spills to disk. Counting the totals of a run of 100,000 accounts
    took 0.49–0.72 s that way and 0.15 s with hashes (the run's publication waits for it).
    `more`: other settings for the same queries.
    """
    settings = {"enable_nestloop": "off", "enable_sort": "off", "work_mem": RUN_WORK_MEM}
    with planner_settings(**settings, **more):
        yield


@contextmanager
def planner_settings(**settings: str):
    """Run the queries inside with these settings of the planner (PostgreSQL; elsewhere
    nothing), and put the connection's own back after.

    Two queries: the settings are read and set in one, put back in the other. Set for the
    session, not the transaction, and put back when the block ends, so that they never
    outlive the block (a request outside a transaction keeps its connection for the next;
    a transaction goes on after the block).
    """
    if connection.vendor != "postgresql":
        yield
        return
    names = list(settings)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            + ", ".join(
                f"current_setting(%s), set_config(%s, %s, false) AS set_{i}"
                for i in range(len(names))
            ),
            [value for name in names for value in (name, name, settings[name])],
        )
        row = cursor.fetchone()
    previous = dict(zip(names, row[::2], strict=True))
    try:
        yield
    except BaseException:
        # Inside a transaction a failed query leaves it aborted (no query runs until the
        # rollback, which puts the settings back); outside one, nothing else will.
        if not connection.in_atomic_block:
            _set(previous)
        raise
    _set(previous)


def _set(settings: dict[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in settings),
            [value for item in settings.items() for value in item],
        )
