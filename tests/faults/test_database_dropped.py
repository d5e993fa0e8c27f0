"""PostgreSQL drops the workers' connections in the middle of a nightly run (a restart, a
failover, an admin's pg_terminate_backend): in the claim, between chunks of the read pass,
in the references, in the score pass, in publishing. The step's transaction rolls back, its
task is retried on a new connection and the run completes; the day is never half
published, and no row is written twice.

The connections are dropped while a worker waits inside the step on a lock the test holds
(tests/faults/night.py): every backend of the test database but the test's own two.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from scoring.tasks import watch_runs
from tests.faults import night
from tests.faults.night import STEPS
from tests.workers import database_url, wait_for

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # A sent task's result, collected after the test's Redis stopped, cannot unsubscribe.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _drop_connections(dsn: str, *, keep: list[int]) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND NOT pid = ANY(%s)",
            [keep],
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("step", STEPS)
def test_connections_dropped_in_a_step_roll_it_back_and_the_run_completes(workers, settings, step):
    settings.SCORING_CHUNK_SIZE = night.CHUNK
    previous = night.portfolio_published()
    workers("worker", SCORING_CHUNK_SIZE=str(night.CHUNK))
    dsn = database_url()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (mine,) = cursor.fetchone()

    with psycopg.connect(dsn) as blocker:
        night.run_to(step, blocker)
        wait_for(lambda: night.waiting_pids(dsn, blocker), what=f"the worker to reach the {step}")
        assert _drop_connections(dsn, keep=[mine, blocker.info.backend_pid]) >= 1
        # The step's transaction is gone with its connection: the day is still the old one.
        night.assert_day_whole(previous)
        blocker.rollback()

    # The step's task is retried on a new connection. (The watchdog stays out of it unless
    # the run stalls for its whole threshold.)
    settings.SCORING_WATCHDOG_SECONDS = 30

    def published():
        watch_runs()
        return night.new_run_published(previous)

    night.assert_replaced(previous, wait_for(published, timeout=90, what="the new run"))
