"""A Redis of the test's own, to stop: the shared one serves every other test run.

`private_redis` starts `redis-server` on a free port and points everything the app sends to
Redis at it: Celery's broker and result store, the cache (the API's rate counts, re-score
debouncing), settings.REDIS_URL. The test then stops it (`stop()`: the port refuses), freezes
it (`freeze()`: SIGSTOP, connections open but nothing answers, as a hung or unreachable
server) and brings it back (`start()`, empty as a restarted Redis without persistence).
"""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from healthboard.celery import app as celery_app
from tests.conftest import PRODUCTION_CACHES
from tests.workers import prefork_workers, wait_for  # noqa: F401  (fixture)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivateRedis:
    port: int
    workdir: Path
    process: subprocess.Popen | None = None
    frozen: bool = False
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.workdir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self.answers, timeout=20, what="the private Redis to answer")

    def answers(self) -> bool:
        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False

    def stop(self) -> None:
        """Redis stopped: its port refuses connections."""
        if self.process is not None:
            self.thaw()
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        """Redis hung (or a network that drops its packets): connections are accepted by
        the kernel, and no command is ever answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.process is not None and self.frozen:
            self.process.send_signal(signal.SIGCONT)
            self.frozen = False

    def recover(self) -> None:
        """Back after either fault: thawed, or started again (empty)."""
        if self.process is None:
            self.start()
        else:
            self.thaw()


@pytest.fixture
def private_redis(tmp_path, settings) -> Iterator[PrivateRedis]:
    """A running Redis of the test's own, which the app's Celery and cache use."""
    server = PrivateRedis(port=_free_port(), workdir=tmp_path)
    server.start()
    conf = celery_app.conf
    saved = (
        conf.broker_url,
        conf.result_backend,
        celery_app._pool,
        celery_app.amqp._producer_pool,
        getattr(celery_app._local, "backend", None),
    )

    def point_celery_at(broker, results, pool, producers, backend) -> None:
        conf.broker_url, conf.result_backend = broker, results
        # Celery keeps its connection pools and (per thread) its result store: new ones for
        # this Redis; the shared Redis's back after. The private ones are dropped, not
        # closed (kombu keeps one producer pool per URL for the whole run).
        celery_app._pool, celery_app.amqp._producer_pool = pool, producers
        if backend is None:
            celery_app._local.__dict__.pop("backend", None)
        else:
            celery_app._local.backend = backend

    point_celery_at(server.url, server.url, None, None, None)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    conf.task_always_eager = False
    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = server.url
    # The cache as in production (its options included), on this Redis.
    settings.CACHES = {"default": {**PRODUCTION_CACHES["default"], "LOCATION": server.url}}
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    try:
        yield server
    finally:
        # Results of tasks the test sent let go of their subscription when collected: while
        # this Redis still answers, not at the end of the session when it is long gone.
        server.recover()
        gc.collect()
        server.stop()
        point_celery_at(*saved)
        conf.task_always_eager = True


@pytest.fixture
def workers(private_redis, prefork_workers):  # noqa: F811
    """`celery worker` subprocesses (tests/workers.py) on the test's own Redis: a short
    visibility timeout there hands back no other test run's unacknowledged messages."""
    return prefork_workers
