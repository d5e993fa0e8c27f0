"""Real Celery workers in subprocesses (`celery worker`, prefork pool) on this run's queue
and the test database, for tests that kill them: the `prefork_workers` fixture (import it
into the test module) and the helpers those tests share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from healthboard.celery import app as celery_app
from tests.conftest import (
    DEV_REDIS_URL,
    TEST_BROKER_URL,
    TEST_QUEUE,
    _forget_test_queue,
    redis_reachable,
    require_service,
)

ROOT = Path(__file__).resolve().parents[1]

WORKER = """
import django
django.setup()
from healthboard.celery import app
app.conf.update(task_default_queue={queue!r}, result_backend={results!r}, task_always_eager=False)
app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--queues={queue}",
                 "--without-mingle", "--without-gossip", "--loglevel=INFO"])
"""


def database_url() -> str:
    """The test database, for worker subprocesses and side connections of a test."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(condition, timeout: float = 60, what: str = "condition"):
    """condition()'s first true value, polled every 0.1 s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def pool_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def kill_whole(worker: subprocess.Popen) -> None:
    """SIGKILL a worker and its pool processes at once, as when its machine dies."""
    children = pool_children(worker.pid)
    worker.kill()
    for child in children:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait()


@pytest.fixture
def prefork_workers(tmp_path, settings):
    """Starts `celery worker` subprocesses, each with one prefork pool process, on this
    run's queue and the broker Celery is configured with when the first one starts (the
    test Redis, or a test's own): start(name, **env) → (process, log). Those still alive
    are stopped at the end."""
    if not DEV_REDIS_URL or not redis_reachable(TEST_BROKER_URL):
        require_service("Redis", "REDIS_URL is not set or does not answer")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    started = []

    def start(name: str = "worker", **extra_env: str):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": celery_app.conf.broker_url,
            "DJANGO_SETTINGS_MODULE": "healthboard.settings",
            **extra_env,
        }
        log = tmp_path / f"{name}.log"
        results = celery_app.conf.result_backend
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER.format(queue=TEST_QUEUE, results=results)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(worker)
        wait_for(lambda: "ready" in log.read_text(), what=f"the {name} worker to start")
        return worker, log

    try:
        yield start
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_whole(worker)
        if celery_app.conf.broker_url == TEST_BROKER_URL:
            celery_app.control.purge()
        _forget_unacked()
        _forget_test_queue()


def _forget_unacked() -> None:
    """Drop messages a killed worker left unacknowledged on this run's queue: Redis would
    otherwise hand them back to the queue, long after the test, for no one."""
    import redis

    client = redis.Redis.from_url(TEST_BROKER_URL)
    for tag, payload in client.hgetall("unacked").items():
        if json.loads(payload)[-1] == TEST_QUEUE:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.close()
