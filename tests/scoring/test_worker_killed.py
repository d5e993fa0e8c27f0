"""A worker process killed in the middle of a chunk: the chunk is redelivered and the run
completes. A real prefork Celery worker (a subprocess) on Redis and PostgreSQL.

To kill the worker exactly mid-chunk, the test holds a lock on the chunk's row: the first
pass's last write waits on it, so the pool process is known to be inside the task when it
is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from healthboard.celery import app as celery_app
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import runs
from scoring.tasks import run_pipeline, watch_runs
from tests.conftest import (
    DEV_REDIS_URL,
    TEST_BROKER_URL,
    TEST_QUEUE,
    TEST_RESULT_URL,
    _forget_test_queue,
    redis_reachable,
    require_service,
)
from tests.factories import AccountFactory
from tests.scoring.test_runs import add_signals

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import django
django.setup()
from healthboard.celery import app
app.conf.update(task_default_queue={queue!r}, result_backend={results!r}, task_always_eager=False)
app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--queues={queue}",
                 "--without-mingle", "--without-gossip", "--loglevel=INFO"])
"""


def _database_url() -> str:
    """The test database, for the worker subprocess and the lock-holding connection."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait(condition, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _waiting_on_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE%%scoring_scorechunk%%'"
        ).fetchone()
    return row[0] > 0


@pytest.fixture
def prefork_workers(tmp_path, settings):
    """Starts `celery worker` subprocesses, each with one prefork pool process, on this
    run's queue: start(name) → (process, log). Those still alive are stopped at the end."""
    if not DEV_REDIS_URL or not redis_reachable(TEST_BROKER_URL):
        require_service("Redis", "REDIS_URL is not set or does not answer")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": TEST_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "healthboard.settings",
    }
    started = []

    def start(name: str = "worker"):
        log = tmp_path / f"{name}.log"
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER.format(queue=TEST_QUEUE, results=TEST_RESULT_URL)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(worker)
        _wait(lambda: "ready" in log.read_text(), what=f"the {name} worker to start")
        return worker, log

    try:
        yield start
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        celery_app.control.purge()
        _forget_unacked()
        _forget_test_queue()


@pytest.fixture
def prefork_worker(prefork_workers):
    return prefork_workers()


def _forget_unacked() -> None:
    """Drop messages a killed worker left unacknowledged on this run's queue: Redis would
    otherwise hand them back to the queue, long after the test, for no one."""
    import json

    import redis

    client = redis.Redis.from_url(TEST_BROKER_URL)
    for tag, payload in client.hgetall("unacked").items():
        if json.loads(payload)[-1] == TEST_QUEUE:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.close()


def test_a_worker_killed_mid_chunk_is_replaced_and_the_run_completes(prefork_worker):
    worker, log = prefork_worker
    accounts = AccountFactory.create_batch(4)
    for i, account in enumerate(accounts):
        add_signals(account, i / 3)
    run = runs.run_start(as_of=timezone.localdate(), trigger="test")
    chunk = run.chunks.get()
    dsn = _database_url()

    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT id FROM scoring_scorechunk WHERE id = %s FOR UPDATE", [chunk.pk])
        run_pipeline(run).delay()
        _wait(lambda: _waiting_on_lock(dsn), what="the chunk's task to reach its write")
        [child] = _pool_children(worker.pid)
        os.kill(child, signal.SIGKILL)
        _wait(lambda: "WorkerLostError" in log.read_text(), what="the worker to notice")
        blocker.rollback()

    def finished():
        run.refresh_from_db()
        return run.status != ScoreRun.Status.RUNNING

    _wait(finished, what="the run to finish")
    assert run.status == ScoreRun.Status.DONE, run.error
    assert HealthScore.objects.filter(run=run).count() == 4
    # The pool process that took the task again is a new one.
    assert _pool_children(worker.pid) != [child]
    assert log.read_text().count("read_chunk[") >= 3  # received, received again, succeeded


def test_a_worker_that_dies_whole_holding_a_chunk_stalls_the_run_only_until_the_watchdog(
    prefork_workers, settings
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
    dsn = _database_url()

    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT id FROM scoring_scorechunk WHERE id = %s FOR UPDATE", [held.pk])
        run_pipeline(run).delay()
        _wait(lambda: _waiting_on_lock(dsn), what="the chunk's task to reach its write")
        children = _pool_children(first.pid)
        first.kill()
        for child in children:
            os.kill(child, signal.SIGKILL)
        first.wait()
        blocker.rollback()

    prefork_workers("second")
    settings.SCORING_WATCHDOG_SECONDS = 1
    # The other chunk may be read by now (a heartbeat): the run is stalled a second later.
    _wait(lambda: watch_runs() == 1, what="the watchdog to find the run stalled")

    def finished():
        run.refresh_from_db()
        return run.status != ScoreRun.Status.RUNNING

    _wait(finished, timeout=60, what="the run to finish")
    assert run.status == ScoreRun.Status.DONE, run.error
    assert HealthScore.objects.filter(date=run.date).count() == 4
    assert HealthScore.objects.filter(run=run).count() == 4
    assert ScoreRun.objects.filter(date=run.date).count() == 1
    assert "read_chunk[" in first_log.read_text()
