"""A worker process killed in the middle of a chunk: the chunk is redelivered and the run
completes. A real prefork Celery worker (a subprocess) on Redis and PostgreSQL.

To kill the worker exactly mid-chunk, the test holds a lock on the chunk's row: the first
pass's last write waits on it, so the pool process is known to be inside the task when it
is killed.
"""

from __future__ import annotations

import os
import signal

import psycopg
import pytest
from django.utils import timezone

from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import runs
from scoring.tasks import run_pipeline, watch_runs
from tests.factories import AccountFactory
from tests.scoring.test_runs import add_signals
from tests.workers import (
    database_url,
    pool_children,
    prefork_workers,  # noqa: F401  (fixture)
    wait_for,
)

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_on_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE%%scoring_scorechunk%%'"
        ).fetchone()
    return row[0] > 0


@pytest.fixture
def prefork_worker(prefork_workers):  # noqa: F811
    return prefork_workers()


def test_a_worker_killed_mid_chunk_is_replaced_and_the_run_completes(prefork_worker):
    worker, log = prefork_worker
    accounts = AccountFactory.create_batch(4)
    for i, account in enumerate(accounts):
        add_signals(account, i / 3)
    run = runs.run_start(as_of=timezone.localdate(), trigger="test")
    chunk = run.chunks.get()
    dsn = database_url()

    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT id FROM scoring_scorechunk WHERE id = %s FOR UPDATE", [chunk.pk])
        run_pipeline(run).delay()
        wait_for(lambda: _waiting_on_lock(dsn), what="the chunk's task to reach its write")
        [child] = pool_children(worker.pid)
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: "WorkerLostError" in log.read_text(), what="the worker to notice")
        blocker.rollback()

    def finished():
        run.refresh_from_db()
        return run.status != ScoreRun.Status.RUNNING

    wait_for(finished, what="the run to finish")
    assert run.status == ScoreRun.Status.DONE, run.error
    assert HealthScore.objects.filter(run=run).count() == 4
    # The pool process that took the task again is a new one.
    assert pool_children(worker.pid) != [child]
    assert log.read_text().count("read_chunk[") >= 3  # received, received again, succeeded


def test_a_worker_that_dies_whole_holding_a_chunk_stalls_the_run_only_until_the_watchdog(
    prefork_workers,  # noqa: F811
    settings,
):
    # The whole worker dies (a machine lost), not only its pool process: the chunk's message
    # stays unacknowledged in Redis for its visibility timeout (half an hour). The watchdog
    # sends the run's unfinished steps again and a second worker finishes it in seconds.
    first, first_log = prefork_workers("first")
    accounts = AccountFactory.create_batch(4)
    for i, account in enumerate(accounts):
        add_signals(account, i / 3)
    run = runs.run_start(as_of=timezone.localdate(), trigger="test", chunk_size=2)
    held = run.chunks.order_by("first_account_id").first()
    dsn = database_url()

    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT id FROM scoring_scorechunk WHERE id = %s FOR UPDATE", [held.pk])
        run_pipeline(run).delay()
        wait_for(lambda: _waiting_on_lock(dsn), what="the chunk's task to reach its write")
        children = pool_children(first.pid)
        first.kill()
        for child in children:
            os.kill(child, signal.SIGKILL)
        first.wait()
        blocker.rollback()

    prefork_workers("second")
    settings.SCORING_WATCHDOG_SECONDS = 1
    # The other chunk may be read by now (a heartbeat): the run is stalled a second later.
    wait_for(lambda: watch_runs() == 1, what="the watchdog to find the run stalled")

    def finished():
        run.refresh_from_db()
        return run.status != ScoreRun.Status.RUNNING

    wait_for(finished, timeout=60, what="the run to finish")
    assert run.status == ScoreRun.Status.DONE, run.error
    assert HealthScore.objects.filter(date=run.date).count() == 4
    assert HealthScore.objects.filter(run=run).count() == 4
    assert ScoreRun.objects.filter(date=run.date).count() == 1
    assert "read_chunk[" in first_log.read_text()
