"""The API's ingestion throughput: batches of 10,000 signals POSTed to /api/v1/signals
through Django's test client, so every request takes the whole path a client's does
(middleware, token, rate limit, JSON, the imports' checks, the write), on PostgreSQL.

The accounts are the import benchmark's (healthboard.bench.imports); the batches' JSON is
made before the clock starts. Half of the signals carry an external id, half none, so both
ways of recognising a re-sent signal are exercised. The figures: signals per second for new
batches, and for the same batches sent again (all already stored).

The re-score hand-off is part of what is measured: after each batch commits, scoring's
receiver publishes one Celery message per chunk of touched accounts (SCORING_CHUNK_SIZE),
to the broker REDIS_URL names (in-memory without one). The messages go to a queue of the
benchmark's own, emptied afterwards, so no worker re-scores the benchmark's accounts;
`api_rescore_messages` counts them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from healthboard.bench.imports import (
    METRICS,
    PREFIX,
    backend_cpu_seconds,
    clear_signals,
    ensure_accounts,
)
from healthboard.celery import app as celery_app
from healthboard.tokens.models import ApiToken
from healthboard.tokens.services import token_create
from scoring import receivers, services, tasks

SOURCE = "apibench"
BENCH_USER = "api-bench"
RESCORE_QUEUE = "bench-rescores"


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("The API benchmark runs on PostgreSQL: set DATABASE_URL.")


def _clear_signals() -> None:
    clear_signals(SOURCE)


def _token() -> str:
    """A fresh read-write token of the benchmark's own user (no password: it cannot log in)."""
    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"email": "api-bench@example.invalid"}
    )
    user.set_unusable_password()
    user.save()
    ApiToken.objects.filter(owner=user).delete()
    return token_create(name="API benchmark", owner=user, scope=ApiToken.Scope.READ_WRITE)[1]


@contextmanager
def _rescores_queued_aside() -> Iterator[list[int]]:
    """Re-score messages published (not run in this process) to the benchmark's own queue,
    purged afterwards; yields the list of message counts, one per hand-off."""
    sent: list[int] = []
    real = services.accounts_rescore_soon

    def counted(*, account_ids) -> int:
        sent.append(real(account_ids=account_ids))
        return sent[-1]

    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_routes
    conf.task_always_eager = False
    conf.task_routes = {tasks.rescore_accounts.name: {"queue": RESCORE_QUEUE}}
    receivers.accounts_rescore_soon = counted
    try:
        yield sent
    finally:
        receivers.accounts_rescore_soon = real
        conf.task_always_eager, conf.task_routes = saved
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(RESCORE_QUEUE)


def batch_bodies(*, batches: int, batch_size: int, accounts: int) -> list[bytes]:
    """`batches` JSON bodies of `batch_size` distinct signals over `accounts` accounts."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=300)
    bodies = []
    for b in range(batches):
        signals = []
        for j in range(batch_size):
            i = b * batch_size + j
            item = {
                "account": f"{PREFIX}{1 + (i * 7919) % accounts:07d}",
                "metric": METRICS[i % len(METRICS)],
                "observed_at": (start + dt.timedelta(seconds=13 * i)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "value": (i * 37) % 1000 / 10,
            }
            if i % 2:
                item["external_id"] = f"api-{i}"
            signals.append(item)
        bodies.append(json.dumps({"source": SOURCE, "signals": signals}).encode())
    return bodies


def _post_all(client: Client, bodies: list[bytes], secret: str) -> tuple[float, list[dict]]:
    answers = []
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            "/api/v1/signals",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"The API refused a batch: {response.status_code} {response.json()}")
        answers.append(response.json())
    return time.perf_counter() - started, answers


def run(
    *,
    batches: int = 10,
    batch_size: int = 10_000,
    accounts: int = 10_000,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, object]:
    """POST `batches` new batches, then the same again; returns the figures (JSON-ready)."""
    _require_postgres()
    ensure_accounts(accounts=accounts)
    _clear_signals()
    secret = _token()
    bodies = batch_bodies(batches=batches, batch_size=batch_size, accounts=accounts)
    signals = batches * batch_size
    progress(
        f"{batches} batches of {batch_size:,} signals made ({sum(map(len, bodies)) / 2**20:.1f} MB of JSON)."
    )
    # The benchmark is one client: the rate limit is not what it measures.
    with (
        override_settings(API_RATE_LIMIT=max(settings.API_RATE_LIMIT, 10 * batches)),
        _rescores_queued_aside() as messages,
    ):
        # 127.0.0.1 is an allowed host in every configuration, "testserver" only under tests.
        client = Client(HTTP_HOST="127.0.0.1")
        backend, cpu = backend_cpu_seconds(), time.process_time()
        seconds, answers = _post_all(client, bodies, secret)
        used = {"python": round(time.process_time() - cpu, 2)}
        if backend is not None:
            used["postgres"] = round(backend_cpu_seconds() - backend, 2)
        assert sum(a["created"] for a in answers) == signals, answers[:1]
        progress(f"{signals:,} new signals in {seconds:.2f} s.")
        resent_seconds, answers = _post_all(client, bodies, secret)
        assert sum(a["unchanged"] for a in answers) == signals, answers[:1]
        progress(f"The same {signals:,} again: nothing new, in {resent_seconds:.2f} s.")
    return {
        "api_batches": batches,
        "api_batch_size": batch_size,
        "api_seconds": round(seconds, 2),
        "api_signals_per_s": round(signals / seconds),
        "api_cpu_s": used,
        "api_resent_signals_per_s": round(signals / resent_seconds),
        "api_rescore_messages": sum(messages),
        "api_rescore_messages_per_batch": max(messages, default=0),
    }
